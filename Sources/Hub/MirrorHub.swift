import Foundation
import HubCore
import Logging
import Server
import Synchronization
import TryOn

/// The mirrors' shared outputs for the server: the shade catalog, each mirror's latest rendered JPEG (waited on
/// by stream clients), and snapshots stored under the state directory with an unguessable id and an expiry.
final class MirrorHub: MirrorProvider {
    let catalog: ShadeCatalog
    let shadesJSON: [UInt8]
    let snapshotDirectory: URL
    /// Where the face models for the native lip locator are looked for.
    let modelsDirectory: URL
    let logger: Logger
    // Mutex: pipelines publish frames while server tasks wait for them and read snapshots.
    private let state = Mutex(State())

    private struct State {
        var mirrors: Set<DeviceID> = []
        var frames: [DeviceID: (sequence: UInt64, jpeg: [UInt8])] = [:]
        var waiters: [DeviceID: [UInt64: CheckedContinuation<(UInt64, [UInt8])?, Never>]] = [:]
        var nextWaiter: UInt64 = 0
        var snapshots: [String: SnapshotInfo] = [:]
        var visits: [DeviceID: String] = [:]
        var stopping = false
    }

    init(catalog: ShadeCatalog, mirrors: [DeviceID], stateDirectory: URL, modelsDirectory: URL, logger: Logger) throws {
        self.catalog = catalog
        self.modelsDirectory = modelsDirectory
        shadesJSON = JSONValue.object(["shades": catalog.json]).jsonBytes
        snapshotDirectory = stateDirectory.appendingPathComponent("snapshots")
        self.logger = logger
        try FileManager.default.createDirectory(
            at: snapshotDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        state.withLock { $0.mirrors = Set(mirrors) }
        adoptStoredSnapshots()
    }

    /// Snapshots from an earlier run stay valid until their file's time plus the longest TTL; older ones go. What
    /// was taken (device, shade) comes from the `<id>.json` beside the picture.
    private func adoptStoredSnapshots() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: snapshotDirectory.path)) ?? []
        for name in names where name.hasSuffix(".jpg") {
            let id = String(name.dropLast(4))
            let url = snapshotDirectory.appendingPathComponent(name)
            let written = (try? FileManager.default.attributesOfItem(atPath: url.path)[.modificationDate] as? Date)
            guard Self.isValidID(id), let written else { continue }
            let expires = written.addingTimeInterval(Self.adoptedTTL)
            if expires < Date() {
                removeFiles(id)
            } else {
                var info =
                    (try? Data(contentsOf: metadataURL(id)))
                    .flatMap { try? JSONParser.parse(String(decoding: $0, as: UTF8.self)) }
                    .flatMap(SnapshotInfo.init(json:)) ?? SnapshotInfo(device: nil, shade: nil, expires: expires)
                info.expires = expires
                state.withLock { $0.snapshots[id] = info }
            }
        }
    }

    private func metadataURL(_ id: String) -> URL { snapshotDirectory.appendingPathComponent("\(id).json") }

    private func removeFiles(_ id: String) {
        try? FileManager.default.removeItem(at: snapshotDirectory.appendingPathComponent("\(id).jpg"))
        try? FileManager.default.removeItem(at: metadataURL(id))
    }

    /// A mirror's visit began (its session id) or ended (nil).
    func setVisit(_ device: DeviceID, _ session: String?) {
        state.withLock { $0.visits[device] = session }
    }

    func visit(_ device: DeviceID) -> String? { state.withLock { $0.visits[device] } }

    static let adoptedTTL: TimeInterval = 900

    var isStopping: Bool { state.withLock { $0.stopping } }

    func isMirror(_ device: DeviceID) -> Bool { state.withLock { $0.mirrors.contains(device) } }

    /// A pipeline's newest rendered frame; wakes the stream clients waiting for it.
    func publishFrame(_ device: DeviceID, jpeg: [UInt8]) {
        let (sequence, waiters) = state.withLock {
            state -> (UInt64, [CheckedContinuation<(UInt64, [UInt8])?, Never>]) in
            let sequence = (state.frames[device]?.sequence ?? 0) + 1
            state.frames[device] = (sequence, jpeg)
            let waiters = state.waiters.removeValue(forKey: device).map { Array($0.values) } ?? []
            return (sequence, waiters)
        }
        for waiter in waiters { waiter.resume(returning: (sequence, jpeg)) }
    }

    func nextFrame(_ device: DeviceID, after: UInt64, timeout: Duration) async -> (sequence: UInt64, jpeg: [UInt8])? {
        if let frame = state.withLock({ $0.frames[device] }), frame.sequence > after { return frame }
        guard isMirror(device), !isStopping else { return nil }
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        let result = await withTaskGroup(of: (UInt64, [UInt8])?.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let ready = self.state.withLock { state -> (UInt64, [UInt8])? in
                        if let frame = state.frames[device], frame.sequence > after { return frame }
                        if state.stopping { return nil }
                        state.waiters[device, default: [:]][id] = continuation
                        return (0, [])
                    }
                    if let ready, ready.0 > 0 {
                        continuation.resume(returning: ready)
                    } else if ready == nil {
                        continuation.resume(returning: nil)
                    }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                let waiter = self.state.withLock { $0.waiters[device]?.removeValue(forKey: id) }
                waiter?.resume(returning: nil)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            await group.waitForAll()
            return first
        }
        return result.map { (sequence: $0.0, jpeg: $0.1) }
    }

    /// Ends every stream: the hub is stopping.
    func shutdown() {
        let waiters = state.withLock { state -> [CheckedContinuation<(UInt64, [UInt8])?, Never>] in
            state.stopping = true
            defer { state.waiters = [:] }
            return state.waiters.values.flatMap { Array($0.values) }
        }
        for waiter in waiters { waiter.resume(returning: nil) }
    }

    /// 128 random bits as 32 hex digits: an id nobody can guess or enumerate.
    static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    static func isValidID(_ id: String) -> Bool {
        id.utf8.count == 32 && id.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// Snapshots kept at most; past it, the ones closest to expiry go first.
    static let maxStoredSnapshots = 256

    /// Writes a snapshot of `device` wearing `shade` and returns its id. Expired snapshots are removed on the way,
    /// and the oldest beyond `maxStoredSnapshots`.
    func storeSnapshot(_ jpeg: [UInt8], device: DeviceID, shade: Shade?, ttl: TimeInterval) throws -> (
        id: String, expires: Date
    ) {
        removeExpired()
        let id = Self.newID()
        let expires = Date().addingTimeInterval(ttl)
        let info = SnapshotInfo(device: device, shade: shade.map(Self.shadeJSON), expires: expires)
        try Data(info.json.jsonBytes).write(to: metadataURL(id), options: .atomic)
        try Data(jpeg).write(to: snapshotDirectory.appendingPathComponent("\(id).jpg"), options: .atomic)
        let evicted = state.withLock { state -> [String] in
            state.snapshots[id] = info
            let excess = state.snapshots.count - Self.maxStoredSnapshots
            guard excess > 0 else { return [] }
            let oldest = state.snapshots.sorted { $0.value.expires < $1.value.expires }.prefix(excess).map(\.key)
            for old in oldest { state.snapshots[old] = nil }
            return oldest
        }
        for old in evicted { removeFiles(old) }
        return (id, expires)
    }

    /// A shade as snapshots and share pages describe it (names per language included).
    static func shadeJSON(_ shade: Shade) -> JSONValue {
        var fields: [String: JSONValue] = [
            "sku": .string(shade.sku), "name": .string(shade.name), "brand": .string(shade.brand),
            "color": .string(shade.color), "finish": .string(shade.finish.rawValue),
        ]
        if !shade.names.isEmpty { fields["names"] = .object(shade.names.mapValues(JSONValue.string)) }
        return .object(fields)
    }

    func snapshot(_ id: String) -> [UInt8]? {
        guard snapshotInfo(id) != nil else { return nil }
        return (try? Data(contentsOf: snapshotDirectory.appendingPathComponent("\(id).jpg"))).map { [UInt8]($0) }
    }

    func snapshotInfo(_ id: String) -> SnapshotInfo? {
        guard Self.isValidID(id), let info = state.withLock({ $0.snapshots[id] }) else { return nil }
        guard info.expires > Date() else {
            removeExpired()
            return nil
        }
        return info
    }

    func deleteSnapshot(_ id: String) -> Bool {
        guard Self.isValidID(id), state.withLock({ $0.snapshots.removeValue(forKey: id) }) != nil else { return false }
        removeFiles(id)
        return true
    }

    private func removeExpired() {
        let now = Date()
        let expired = state.withLock { state -> [String] in
            let gone = state.snapshots.filter { $0.value.expires <= now }.map(\.key)
            for id in gone { state.snapshots[id] = nil }
            return gone
        }
        for id in expired { removeFiles(id) }
    }
}
