import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The decision loop: every interval, per target, it reads the replicas (the actuator), the metrics (the signals),
/// the wedding calendar and the forecast, decides (``ScalingDecider``), records the decision, and sets the replicas
/// when they should change. A source that cannot be read leaves its input missing, and the decision holds as HPA's
/// rules say; an actuator that fails is retried at the next tick.
public final class AutoscalerController: Service {
    public let file: AutoscalingFile
    let actuator: any ReplicaActuator
    let signals: any ScalingSignals
    let calendar: WeddingCalendarSource?
    let forecast: ForecastSource?
    public let log: DecisionLog
    let logger: Logger
    private let deciders: Mutex<[String: ScalingDecider]>
    /// Per target, the last change logged (current, desired): a change that cannot be made is logged once.
    private let lastLogged = Mutex<[String: (Int, Int)]>([:])

    public init(
        file: AutoscalingFile,
        actuator: any ReplicaActuator,
        actuatorName: String,
        signals: any ScalingSignals,
        calendar: WeddingCalendarSource?,
        forecast: ForecastSource?,
        logger: Logger
    ) {
        self.file = file
        self.actuator = actuator
        self.signals = signals
        self.calendar = calendar
        self.forecast = forecast
        self.logger = logger
        self.log = DecisionLog(actuator: actuatorName, interval: file.interval, targets: file.targets.map(\.name))
        self.deciders = Mutex(
            Dictionary(uniqueKeysWithValues: file.targets.map { ($0.name, ScalingDecider(target: $0)) })
        )
    }

    public func run() async throws {
        // A graceful shutdown ends the wait between ticks, never a tick: a drain under way completes.
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            await tick()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.file.interval) }
        }
        // Replicas the actuator started itself (the local one's processes) are drained and stopped with it.
        await actuator.shutdown()
    }

    /// One decision for every target, in the file's order.
    public func tick(at now: Date = Date()) async {
        for target in file.targets {
            guard !Task.isCancelled else { return }
            await step(target, at: now)
        }
    }

    /// Reads, decides, records and acts for one target.
    func step(_ target: ScalingTarget, at now: Date) async {
        let replicas: ReplicaCount
        do {
            replicas = try await actuator.replicas(of: target)
        } catch {
            if log.recordError("\(error)", target: target.name) {
                logger.warning("replicas unreadable", metadata: ["target": "\(target.name)", "error": "\(error)"])
            }
            return
        }
        let readings = await signals.readings(for: target)
        var bookings: [WeddingBooking]?
        if let floor = target.calendar, let calendar { bookings = await calendar.bookings(for: floor, at: now) }
        var hours: [ForecastHour]?
        if target.predictive.mode != .off, let forecast {
            hours = await forecast.hours(refresh: target.predictive.refresh)
        }
        let inputs = ScalingInputs(
            now: now,
            currentReplicas: replicas.current,
            readyReplicas: replicas.ready,
            readings: readings,
            bookings: bookings,
            forecast: hours
        )
        let decision = deciders.withLock { deciders in
            var decider = deciders[target.name] ?? ScalingDecider(target: target)
            let decision = decider.decide(inputs)
            deciders[target.name] = decider
            return decision
        }
        log.record(decision, ready: replicas.ready)
        guard decision.desiredReplicas != replicas.current else {
            log.recordError(nil, target: target.name)
            return
        }
        let change = (replicas.current, decision.desiredReplicas)
        let repeated = lastLogged.withLock { logged in
            defer { logged[target.name] = change }
            return logged[target.name].map { $0 == change } ?? false
        }
        logger.log(
            level: repeated ? .debug : .notice,
            "scaling",
            metadata: [
                "target": "\(target.name)", "from": "\(replicas.current)", "to": "\(decision.desiredReplicas)",
                "rule": "\(decision.rule.rawValue)", "reason": "\(decision.reason)",
            ]
        )
        do {
            try await actuator.scale(target, to: decision.desiredReplicas)
            log.recordError(nil, target: target.name)
        } catch {
            if log.recordError("\(error)", target: target.name) {
                logger.warning("scaling failed", metadata: ["target": "\(target.name)", "error": "\(error)"])
            }
        }
    }
}
