/// The rows of a server-side cursor, fetched a batch at a time as they are consumed.
///
/// Obtained from ``PostgresPool/withCursor(_:batchSize:_:)``; only valid inside its body.
public struct PostgresRowStream: AsyncSequence, Sendable {
    public typealias Element = PostgresRow

    let connection: PostgresConnection
    let cursor: String
    let batchSize: Int

    public func makeAsyncIterator() -> Iterator {
        Iterator(
            connection: connection,
            fetch: "FETCH FORWARD \(unescaped: String(batchSize)) FROM \(unescaped: cursor)",
            batchSize: batchSize
        )
    }

    /// Walks the current batch and fetches the next when it runs out.
    public struct Iterator: AsyncIteratorProtocol {
        let connection: PostgresConnection
        let fetch: PostgresQuery
        let batchSize: Int
        var batch: [PostgresRow] = []
        var position = 0
        var exhausted = false

        init(connection: PostgresConnection, fetch: PostgresQuery, batchSize: Int) {
            self.connection = connection
            self.fetch = fetch
            self.batchSize = batchSize
        }

        public mutating func next() async throws -> PostgresRow? {
            if position == batch.count {
                guard !exhausted else { return nil }
                batch = try await connection.query(fetch, prepared: false).rows
                position = 0
                exhausted = batch.count < batchSize
                guard !batch.isEmpty else { return nil }
            }
            defer { position += 1 }
            return batch[position]
        }
    }
}
