extension Migration {
    /// The durable outbox of cache invalidations (``InvalidationOutbox``): a write inserts the tags it changed in
    /// its own transaction, and the relay deletes them once the cache service has acknowledged them.
    static let invalidationOutbox = Migration(
        version: 3,
        name: "cache invalidation outbox",
        sql: #"""
            CREATE TABLE cache_invalidation_outbox (
                id         bigserial PRIMARY KEY,
                tags       text NOT NULL,
                reason     text,
                created_at timestamptz NOT NULL DEFAULT now()
            );
            """#
    )
}
