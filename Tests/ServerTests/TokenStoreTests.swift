import EventLog
import Foundation
import HubCore
import SQLiteStore
import Server
import StoreHubTestSupport
import Testing

@Suite struct TokenStoreTests {
    private let folder: TemporaryFolder
    private var path: String { folder.databasePath }

    init() throws { folder = try TemporaryFolder("tokens") }

    @Test func createdTokenAuthenticatesWithItsRole() throws {
        let store = try TokenStore(path: path)
        let issued = try store.create(role: .service, label: "order-service")
        #expect(issued.token.hasPrefix("shb_\(issued.id)_"))
        #expect(store.authenticate(token: issued.token) == Principal(tokenID: issued.id, role: .service))
    }

    @Test func aDeviceTokenCarriesItsDeviceAcrossARestart() throws {
        let device = try DeviceID(validating: "mirror-1")
        let issued = try TokenStore(path: path).create(role: .device, label: "tracker", device: device)
        let reopened = try TokenStore(path: path)
        #expect(
            reopened.authenticate(token: issued.token) == Principal(tokenID: issued.id, role: .device, device: device))
    }

    @Test func aDeviceTokenNeedsItsDeviceAndOnlyDeviceTokensHaveOne() throws {
        let store = try TokenStore(path: path)
        #expect(throws: TokenError.self) { try store.create(role: .device, label: "x") }
        #expect(throws: TokenError.self) {
            try store.create(role: .staff, label: "x", device: try DeviceID(validating: "mirror-1"))
        }
    }

    @Test func aStateDirectoryFromBeforeDeviceTokensGetsTheColumnAndKeepsItsTokens() throws {
        do {
            let old = try SQLiteConnection(path: path)
            try old.execute(
                """
                CREATE TABLE tokens(id TEXT PRIMARY KEY, role TEXT NOT NULL, hash BLOB NOT NULL, label TEXT NOT NULL,
                    created_ms INTEGER NOT NULL);
                INSERT INTO tokens VALUES('0000abcd', 'staff', x'00', 'old', 0);
                """)
        }
        let store = try TokenStore(path: path)
        #expect(store.count == 1)
        let issued = try store.create(role: .device, label: "new", device: try DeviceID(validating: "kiosk-1"))
        #expect(store.authenticate(token: issued.token)?.device?.rawValue == "kiosk-1")
    }

    @Test func wrongSecretOrMalformedTokenIsRefused() throws {
        let store = try TokenStore(path: path)
        let issued = try store.create(role: .admin, label: "a")
        var tampered = Array(issued.token)
        tampered[tampered.count - 1] = tampered.last == "A" ? "B" : "A"
        #expect(store.authenticate(token: String(tampered)) == nil)
        #expect(store.authenticate(token: "") == nil)
        #expect(store.authenticate(token: "shb_\(issued.id)_short") == nil)
        #expect(store.authenticate(token: "Bearer " + issued.token) == nil)
    }

    @Test func onlyTheHashIsStored() throws {
        let store = try TokenStore(path: path)
        let issued = try store.create(role: .staff, label: "tablet")
        let secret = String(issued.token.split(separator: "_", maxSplits: 2)[2])
        let database = try Data(contentsOf: URL(fileURLWithPath: path))
        let wal = (try? Data(contentsOf: URL(fileURLWithPath: path + "-wal"))) ?? Data()
        #expect(database.range(of: Data(secret.utf8)) == nil)
        #expect(wal.range(of: Data(secret.utf8)) == nil)
    }

    @Test func tokenCreatedByAnotherProcessIsFoundWithoutRestart() throws {
        let running = try TokenStore(path: path)
        let cli = try TokenStore(path: path)
        let issued = try cli.create(role: .service, label: "sharing-service")
        #expect(running.authenticate(token: issued.token)?.role == .service)
    }

    @Test func revokedTokensStopWorking() throws {
        let store = try TokenStore(path: path)
        let demo = try store.create(role: .staff, label: "demo-session")
        let kept = try store.create(role: .admin, label: "first-run-admin")
        #expect(try store.revoke(label: "demo-session") == 1)
        #expect(store.authenticate(token: demo.token) == nil)
        #expect(store.authenticate(token: kept.token) != nil)
    }
}
