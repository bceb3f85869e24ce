import Foundation
import HTTPTypes
import Testing
import WedSyncGateway
import WedSyncServiceKit

@Suite("Gateway metrics on /metrics")
struct GatewayMetricsTests {
    @Test("Two gateways in one process write each family once, their figures for the same labels added up")
    func oneFamilyPerProcess() throws {
        let route = "/metrics-test-\(UUID().uuidString.prefix(8))"
        let first = GatewayMetrics(summaries: nil)
        let second = GatewayMetrics(summaries: nil)
        first.recorder(route: route, method: .get, status: 200, cache: "HIT").record(nanoseconds: 400_000)
        first.recorder(route: route, method: .get, status: 200, cache: "HIT").record(nanoseconds: 400_000)
        second.recorder(route: route, method: .get, status: 204, cache: "HIT").record(nanoseconds: 3_000_000)
        let text = String(decoding: PrometheusMetrics.render(), as: UTF8.self)
        #expect(text.components(separatedBy: "# TYPE gateway_requests_total counter\n").count == 2)
        #expect(text.components(separatedBy: "# TYPE gateway_request_duration_seconds histogram\n").count == 2)
        #expect(
            text.contains(#"gateway_requests_total{route="\#(route)",method="GET",status_class="2xx",cache="HIT"} 3"#)
        )
        #expect(
            text.contains(
                #"gateway_request_duration_seconds_bucket{route="\#(route)",method="GET",cache="HIT",le="0.0005"} 2"#
            )
        )
        #expect(text.contains(#"gateway_request_duration_seconds_count{route="\#(route)",method="GET",cache="HIT"} 3"#))
        withExtendedLifetime((first, second)) {}
    }
}
