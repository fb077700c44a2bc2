import Bus
import Crypto
import Foundation
import HubCore
import SQLiteStore
import Synchronization

/// Bearer tokens, stored as SHA-256 hashes of their secret part; the secret itself is shown once and never kept.
///
/// A token reads `shb_<id>_<secret>`: the id (8 hex digits) finds the row, the 256-bit secret proves it. Hashes
/// are compared in constant time. Tokens created by another process (`storehub token create` while the hub runs)
/// are found on the first lookup that misses the cache.
package final class TokenStore: Authenticator {
    // SQLite connection used under the lock only; tokens are read rarely after the cache is warm.
    private let database: Mutex<SQLiteConnection>
    private let cache = Mutex<[String: Entry]>([:])

    struct Entry: Sendable {
        var role: Role
        var hash: [UInt8]
        var device: DeviceID?
        var deviceKind: DeviceKind?
    }

    /// A token just created: the full text (show it once) and its public id.
    package struct Issued: Sendable {
        package var token: String
        package var id: String
        package var role: Role
    }

    package init(path: String) throws(SQLiteError) {
        let connection = try SQLiteConnection(path: path)
        try connection.execute(
            """
            PRAGMA journal_mode=WAL;
            CREATE TABLE IF NOT EXISTS tokens(
                id TEXT PRIMARY KEY,
                role TEXT NOT NULL,
                hash BLOB NOT NULL,
                label TEXT NOT NULL,
                created_ms INTEGER NOT NULL);
            """)
        // Device tokens came later: a state directory from before gets the column.
        let hasDevice = try connection.scalar("SELECT count(*) FROM pragma_table_info('tokens') WHERE name = 'device'")
        if hasDevice == 0 { try connection.execute("ALTER TABLE tokens ADD COLUMN device TEXT") }
        // So did screen tokens, which name their device's kind.
        let hasKind = try connection.scalar(
            "SELECT count(*) FROM pragma_table_info('tokens') WHERE name = 'device_kind'")
        if hasKind == 0 { try connection.execute("ALTER TABLE tokens ADD COLUMN device_kind TEXT") }
        database = Mutex(connection)
        try reload()
    }

    /// How many tokens exist.
    package var count: Int { cache.withLock { $0.count } }

    /// Creates a token for `role`. `label` says what it is for ("order-service", "demo-session"); `device` names the
    /// device a `device` or `screen` token speaks for (required for those roles, refused for the others), and
    /// `deviceKind` a screen's device kind (kiosk or mirror; only for screens).
    package func create(role: Role, label: String, device: DeviceID? = nil, deviceKind: DeviceKind? = nil) throws
        -> Issued
    {
        let bound = role == .device || role == .screen
        guard bound == (device != nil) else {
            throw TokenError(
                bound ? "a \(role.rawValue) token needs --device" : "only device and screen tokens name a device")
        }
        guard (role == .screen) == (deviceKind != nil), deviceKind != .scanner else {
            throw TokenError("a screen token belongs to a kiosk or a mirror, and only screen tokens name a device kind")
        }
        var idBytes = [UInt8](repeating: 0, count: 4)
        var secretBytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for i in idBytes.indices { idBytes[i] = generator.next() }
        for i in secretBytes.indices { secretBytes[i] = generator.next() }
        let id = idBytes.map { String(format: "%02x", $0) }.joined()
        let secret = Data(secretBytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let hash = Array(SHA256.hash(data: Array(secret.utf8)))
        try database.withLock { db throws(SQLiteError) in
            let insert = try db.prepare(
                "INSERT INTO tokens(id, role, hash, label, created_ms, device, device_kind) VALUES(?, ?, ?, ?, ?, ?, ?)"
            )
            insert.bind(1, id)
            insert.bind(2, role.rawValue)
            insert.bind(3, bytes: hash)
            insert.bind(4, label)
            insert.bind(5, Int64(Date().timeIntervalSince1970 * 1000))
            if let device { insert.bind(6, device.rawValue) } else { insert.bindNull(6) }
            if let deviceKind { insert.bind(7, deviceKind.rawValue) } else { insert.bindNull(7) }
            try insert.run()
        }
        cache.withLock { $0[id] = Entry(role: role, hash: hash, device: device, deviceKind: deviceKind) }
        return Issued(token: "shb_\(id)_\(secret)", id: id, role: role)
    }

    /// Removes every token with `label`; returns how many.
    @discardableResult
    package func revoke(label: String) throws -> Int {
        try delete("DELETE FROM tokens WHERE label = ?", label)
    }

    /// Removes the token with public id `id`; false when there is none.
    package func revoke(id: String) throws -> Bool {
        try delete("DELETE FROM tokens WHERE id = ?", id) > 0
    }

    private func delete(_ statement: String, _ value: String) throws -> Int {
        let removed = try database.withLock { db throws(SQLiteError) -> Int in
            let delete = try db.prepare(statement)
            delete.bind(1, value)
            try delete.run()
            return db.changes
        }
        try reload()
        return removed
    }

    /// A stored token as staff see it: never its hash.
    package struct Listed: Sendable, Equatable {
        package var id: String
        package var role: Role
        package var label: String
        package var device: DeviceID?
        package var deviceKind: DeviceKind?
        package var created: Date
    }

    /// The tokens of `role`, oldest first.
    package func list(role: Role) throws -> [Listed] {
        try database.withLock { db throws(SQLiteError) -> [Listed] in
            let select = try db.prepare(
                "SELECT id, label, device, device_kind, created_ms FROM tokens WHERE role = ? ORDER BY created_ms, id")
            select.bind(1, role.rawValue)
            var rows: [Listed] = []
            while try select.step() {
                rows.append(
                    Listed(
                        id: select.text(0), role: role, label: select.text(1),
                        device: select.isNull(2) ? nil : try? DeviceID(validating: select.text(2)),
                        deviceKind: select.isNull(3) ? nil : DeviceKind(rawValue: select.text(3)),
                        created: Date(timeIntervalSince1970: Double(select.int64(4)) / 1000)))
            }
            return rows
        }
    }

    package func authenticate(token: String) -> Principal? {
        guard let (id, secret) = Self.split(token) else { return nil }
        var entry = cache.withLock { $0[id] }
        if entry == nil {
            try? reload()
            entry = cache.withLock { $0[id] }
        }
        guard let entry else { return nil }
        let presented = Array(SHA256.hash(data: Array(secret.utf8)))
        guard presented.count == entry.hash.count else { return nil }
        var difference: UInt8 = 0
        for (a, b) in zip(presented, entry.hash) { difference |= a ^ b }
        return difference == 0
            ? Principal(tokenID: id, role: entry.role, device: entry.device, deviceKind: entry.deviceKind) : nil
    }

    private static func split(_ token: String) -> (id: String, secret: String)? {
        let parts = token.split(separator: "_", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "shb", parts[1].utf8.count == 8, parts[2].utf8.count == 43 else {
            return nil
        }
        return (String(parts[1]), String(parts[2]))
    }

    private func reload() throws(SQLiteError) {
        let entries = try database.withLock { db throws(SQLiteError) -> [String: Entry] in
            let select = try db.prepare("SELECT id, role, hash, device, device_kind FROM tokens")
            var entries: [String: Entry] = [:]
            while try select.step() {
                guard let role = Role(rawValue: select.text(1)) else { continue }
                let device = select.isNull(3) ? nil : try? DeviceID(validating: select.text(3))
                let kind = select.isNull(4) ? nil : DeviceKind(rawValue: select.text(4))
                // A device or screen token whose device no longer parses is not loaded: it would speak for nobody.
                if (role == .device || role == .screen) && device == nil { continue }
                entries[select.text(0)] = Entry(role: role, hash: select.bytes(2), device: device, deviceKind: kind)
            }
            return entries
        }
        cache.withLock { $0 = entries }
    }
}

/// A token that cannot be made as asked.
package struct TokenError: Error, CustomStringConvertible {
    package var description: String
    init(_ description: String) { self.description = description }
}
