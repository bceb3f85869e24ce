import Hummingbird

/// Query parameters read as the OpenAPI document declares them: anything else is a 400 `invalid_parameter` naming
/// the parameter, never a guess.
extension Request {
    /// The boolean query parameter `name`: `true` or `false`; `value` when absent.
    public func booleanQuery(_ name: String, default value: Bool) throws(ServiceError) -> Bool {
        guard let text = uri.queryParameters.get(name) else { return value }
        switch text {
        case "true": return true
        case "false": return false
        default: throw ServiceError.badRequest("\(name): true or false", code: "invalid_parameter")
        }
    }

    /// The integer query parameter `name`, within `range`; `nil` when absent.
    public func integerQuery(_ name: String, in range: ClosedRange<Int>) throws(ServiceError) -> Int? {
        guard let text = uri.queryParameters.get(name) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw ServiceError.badRequest(
                "\(name): an integer from \(range.lowerBound) to \(range.upperBound)",
                code: "invalid_parameter"
            )
        }
        return value
    }
}
