/// The one error body every WedSync service answers with on a 4xx or 5xx:
/// `{"error":{"code":"invalid_body","message":"..."}}`.
///
/// `code` is a stable, machine-readable snake_case identifier that clients may switch on; `message` is for people
/// and never carries secrets, tokens or personal data.
public struct ErrorEnvelope: Codable, Sendable, Equatable {
    /// The error itself.
    public struct Body: Codable, Sendable, Equatable {
        /// A stable snake_case identifier, e.g. `not_found`, `unauthorized`, `invalid_body`.
        public var code: String
        /// A human-readable explanation.
        public var message: String

        public init(code: String, message: String) {
            self.code = code
            self.message = message
        }
    }

    public var error: Body

    public init(code: String, message: String) {
        self.error = Body(code: code, message: message)
    }
}

extension ErrorEnvelope: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "error": .object(
                    [
                        "code": .described(.string(), "A stable snake_case identifier, e.g. not_found."),
                        "message": .described(.string(), "A human-readable explanation."),
                    ],
                    required: ["code", "message"]
                )
            ],
            required: ["error"]
        )
    }
}
