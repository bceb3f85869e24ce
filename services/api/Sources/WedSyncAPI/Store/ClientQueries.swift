import WedSyncModels
import WedSyncPostgres

/// The statements behind the clients screens, public so benchmarks and the query optimizer's tests can run
/// (and `EXPLAIN`) exactly what the API runs.
public enum ClientQueries {
    /// The columns of a ``Client``, guest count included (an index-only count on `guests_client_id_idx`).
    public static let columns = """
        c.id, c.organization_id, c.partner1_first_name, c.partner1_last_name, c.partner2_first_name,
        c.partner2_last_name, c.email, c.phone, c.wedding_date, c.venue_name, c.venue_city, c.status,
        c.guest_estimate, (SELECT count(*) FROM guests g WHERE g.client_id = c.id) AS guest_count, c.notes, c.updated_at
        """

    /// One page of an organization's clients with a wedding from `from` to `to`, in (wedding date, id) order,
    /// after the keyset position `after`: one range scan of `clients_org_wedding_date_idx`, no offset, no sort.
    ///
    /// - Parameter search: a `LIKE` pattern on the lower-cased names (already escaped, with its `%`s).
    public static func page(
        organization: Int,
        from: CalendarDay,
        to: CalendarDay,
        status: String? = nil,
        search: String? = nil,
        after: (weddingDate: CalendarDay, id: Int)? = nil,
        limit: Int
    ) -> PostgresQuery {
        var binds: [any PostgresBindable] = [organization, from, to]
        var sql = """
            SELECT \(columns)
            FROM clients c
            WHERE c.organization_id = $1 AND c.wedding_date BETWEEN $2 AND $3 AND c.deleted_at IS NULL
            """
        if let status {
            binds.append(status)
            sql += " AND c.status = $\(binds.count)"
        }
        if let search {
            binds.append(search)
            sql += " AND c.search_name LIKE $\(binds.count)"
        }
        if let after {
            binds.append(after.weddingDate)
            binds.append(after.id)
            sql += " AND (c.wedding_date, c.id) > ($\(binds.count - 1)::date, $\(binds.count)::bigint)"
        }
        binds.append(limit)
        sql += " ORDER BY c.wedding_date, c.id LIMIT $\(binds.count)"
        return PostgresQuery(sql: sql, binds: binds)
    }
}
