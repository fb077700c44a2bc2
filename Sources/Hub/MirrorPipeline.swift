import Bus
import Capture
import Config
import EventLog
import Foundation
import HubCore
import Logging
import Synchronization
import TryOn

extension EventType {
    /// A shopper tried a shade (when she moves on to another) or took a snapshot of it.
    static let tryOnResult = "storehub.tryon.result"
}

/// What arrives for one mirror over the bus, kept until its pipeline's next frame.
final class MirrorControl: Sendable {
    // Mutex: the bus listener task writes, the pipeline task takes.
    private let pending = Mutex(Pending())
    let landmarks = LandmarkInbox()
    /// The sequence of the last command event applied. Set when the hub opens, so that every command accepted
    /// from then on is applied exactly once: also those that arrive while the camera opens or reopens.
    private let applied = Mutex<UInt64>(0)

    /// Commands accepted after `sequence` are this mirror's to apply.
    func start(after sequence: UInt64) { applied.withLock { $0 = sequence } }

    /// The last command event applied.
    var appliedSequence: UInt64 { applied.withLock { $0 } }

    /// Whether the command event `sequence` is new (not applied yet); it counts as applied from now on.
    func claim(_ sequence: UInt64) -> Bool {
        applied.withLock { last in
            guard sequence > last else { return false }
            last = sequence
            return true
        }
    }

    struct Pending {
        var select: String?
        var snapshots = 0
        var endSession = false
        var lastSnapshot: ContinuousClock.Instant?
        /// nil: unchanged; `.some(nil)`: no split line.
        var split: Float??
        var lighting: LightingPreset?
        var wishlist: [String] = []
    }

    /// Snapshots a mirror takes at most, one per this interval: each is a JPEG on disk and a try-on result.
    static let snapshotInterval: Duration = .seconds(1)

    /// What is wrong with a `mirror.command.<device>` event's data (see `MirrorCommand`), or nil: the bus checks
    /// it when it is published, so the publisher hears why.
    static func problem(with data: JSONValue?) -> String? {
        do {
            _ = try MirrorCommand.parse(data ?? .null)
            return nil
        } catch {
            return error.description
        }
    }

    /// Applies a `mirror.command.<device>` event's data. Returns a problem to log. Snapshot commands within
    /// `snapshotInterval` of the last one taken join it.
    func command(_ data: JSONValue) -> String? {
        let command: MirrorCommand
        do {
            command = try MirrorCommand.parse(data)
        } catch {
            return "mirror command refused: \(error)"
        }
        let now = ContinuousClock.now
        pending.withLock { pending in
            if let sku = command.select { pending.select = sku }
            if command.snapshot, pending.lastSnapshot.map({ now - $0 >= Self.snapshotInterval }) ?? true {
                pending.snapshots = 1
                pending.lastSnapshot = now
            }
            if command.end { pending.endSession = true }
            if let split = command.split { pending.split = split }
            if let lighting = command.lighting { pending.lighting = lighting }
            if let sku = command.wishlist, pending.wishlist.count < 8 { pending.wishlist.append(sku) }
        }
        return nil
    }

    func take() -> Pending {
        pending.withLock { pending in
            defer { pending = Pending(lastSnapshot: pending.lastSnapshot) }
            return pending
        }
    }
}

/// One try-on mirror: camera → lip locator → renderer (in place) → stream JPEG, snapshots and try-on results,
/// under DevicePipeline's supervision. Commands and external landmarks come from a typed bus subscription, so they
/// reach the mirror only through the log, after the same permission and data checks as any publisher's.
struct MirrorPipeline: CameraPipeline {
    let reporter: DeviceReporter
    let source: any FrameSource
    let settings: MirrorSettings
    let mirrors: MirrorHub
    let bus: Bus
    /// A mesh for the replayed portrait (demo), moved with its synthetic motion.
    let portraitMesh: FaceLandmarks?
    let portraitMotion: (@Sendable (UInt64, Int) -> PortraitSource.Motion)?
    let control = MirrorControl()
    var healthInterval: Duration = .seconds(30)

    func open() async throws -> String {
        try await source.open()
        return "mirror running"
    }

    private var commandTopics: TopicPattern {
        get throws { try TopicPattern(validating: "mirror.command.\(descriptor.id)") }
    }

    /// This mirror's commands and external landmarks, as the bus gives them out.
    private func subscribe() throws -> BusSubscription {
        bus.subscribe(to: [try commandTopics, try TopicPattern(validating: "mirror.landmarks.\(descriptor.id)")])
    }

    /// Feeds `control` the commands the log holds that it has not applied (those accepted while the camera was
    /// opening or down), then the subscription's commands and landmarks until the task is cancelled. The
    /// subscription is made first, so nothing falls between the two; `claim` applies each command once.
    private func listen(to subscription: BusSubscription) async {
        do {
            let pattern = try commandTopics
            var after = control.appliedSequence
            while !Task.isCancelled {
                let page = try bus.log.read(after: after, matching: pattern, limit: 64)
                for event in page.events { apply(event) }
                if page.scannedThrough <= after { break }
                after = page.scannedThrough
            }
        } catch {
            reporter.logger.warning(
                "device \(descriptor.id): commands sent while the camera opened could not be read: \(error)")
        }
        for await event in subscription { apply(event) }
    }

    private func apply(_ event: StoredEvent) {
        guard let body = try? JSONParser.parse(String(decoding: event.body, as: UTF8.self)), let data = body["data"]
        else { return }
        if event.topic.hasPrefix("mirror.landmarks.") {
            control.landmarks.receive(data)
        } else if control.claim(event.sequence), let problem = control.command(data) {
            reporter.logger.warning("device \(descriptor.id): \(problem)")
        }
    }

    /// The mesh locator on the native face pipeline, or nil (logged with what to do) when the models are missing
    /// or damaged: the mirror then runs on the other locators.
    private func nativeLocator() -> (any LipLocator)? {
        do {
            return try MeshLipLocator.native(modelsDirectory: mirrors.modelsDirectory)
        } catch {
            reporter.logger.warning(
                "device \(descriptor.id): no native face landmarks, lips come from the other locators: \(error)")
            return nil
        }
    }

    func work(_ health: inout Health) async throws {
        let subscription = try subscribe()
        let listener = Task { await listen(to: subscription) }
        defer { listener.cancel() }
        var session = MirrorSession(catalog: mirrors.catalog, settings: settings)
        let productCodes = try MirrorProductCodes(catalog: mirrors.catalog)
        defer { productCodes?.stop() }
        let started = ContinuousClock.now
        var locators: [any LipLocator] = []
        if let native = nativeLocator() { locators.append(native) }
        if let portraitMesh, let portraitMotion {
            let provider = FixedLandmarkProvider(face: portraitMesh) { frame in
                let motion = portraitMotion(frame.index, frame.width)
                return { motion.apply($0, width: frame.width, height: frame.height) }
            }
            locators.append(MeshLipLocator(provider: provider))
        }
        let busLocator = BusLipLocator(inbox: control.landmarks)
        locators.append(busLocator)
        let guide = settings.faceGuide.map {
            (x: Float($0[0]), y: Float($0[1]), width: Float($0[2]), height: Float($0[3]))
        }
        locators.append(ClassicalLipLocator(faceGuide: guide))
        let chain = LocatorChain(locators)
        var renderer: TryOnRenderer?
        var split: Float?
        let lighting = LightingTransform()
        var visit: String?
        let members = MemberCodeReader(pattern: descriptor.screen?.memberPattern)
        guard let encoder = ColorJPEGEncoder(quality: Int32(settings.jpegQuality)),
            let snapshotEncoder = ColorJPEGEncoder(quality: 92)
        else { throw CaptureError("libjpeg-turbo could not start", isTransient: false) }
        var stream = MirrorStreamPacer(fps: settings.streamFps)
        var lastCounters = ContinuousClock.now
        var lastHealth = ContinuousClock.now
        var budget = FrameBudgetRecorder(metrics: MirrorMetrics(reporter.registry.prometheus, device: descriptor.id))
        var lastBudget = ContinuousClock.now
        while !Task.isCancelled {
            guard let frame = try await source.next() else { return }
            guard frame.format != .grey else {
                throw CaptureError(
                    "\(source.description) delivers grey frames; a mirror needs colour (NV12 or YUYV)",
                    isTransient: false)
            }
            health.processed += 1
            budget.captured(frame)
            let time = frame.captureTime.timeIntervalSince1970
            let pending = control.take()
            var results: [any TryOnEventData] = []
            if pending.endSession, let ended = session.end(at: frame.captureTime) { results.append(ended) }
            if let change = pending.split { split = change }
            if let preset = pending.lighting { lighting.set(preset) }
            for sku in pending.wishlist {
                switch session.wishlist(sku, at: frame.captureTime) {
                case .success(let result): results.append(result)
                case .failure(let problem): reporter.logger.warning("device \(descriptor.id): \(problem)")
                }
            }
            var held: String?
            do {
                held = try productCodes?.shadeSKU(in: frame, at: ContinuousClock.now - started)
            } catch {
                health.lastError = "product code: \(error)"
            }
            if let sku = pending.select ?? held {
                session.pauseCycling()
                switch session.select(sku, at: frame.captureTime) {
                case .success(let result?): results.append(result)
                case .success(nil): break
                case .failure(let problem):
                    health.lastError = problem.description
                    reporter.logger.warning("device \(descriptor.id): \(problem)")
                }
            }
            if let result = session.cycleIfDue(at: frame.captureTime) { results.append(result) }
            if let code = members?.read(frame), let linked = session.link(member: code, at: frame.captureTime) {
                results.append(linked)
            }
            if renderer?.mask.width != frame.width || renderer?.mask.height != frame.height {
                renderer = TryOnRenderer(width: frame.width, height: frame.height)
            }
            let locating = ContinuousClock.now
            let observation = chain.locate(in: frame)
            let rendering = ContinuousClock.now
            budget.located(rendering - locating)
            renderer!.split = split
            let outcome = renderer!.render(frame, observation: observation, shade: session.shade, time: time)
            lighting.apply(to: frame)
            let now = ContinuousClock.now
            budget.rendered(now - rendering)
            if let ended = session.observe(outcome, at: frame.captureTime) { results.append(ended) }
            if session.id != visit {
                results += MirrorVisit.changes(from: visit, to: session.id, hub: mirrors, device: descriptor.id)
                visit = session.id
            }
            // A frame that shows a new shade, split line or light goes to the stream at once, not at the stream's
            // next turn: the shopper who tapped is waiting for it.
            let lookChanged = pending.select != nil || pending.split != nil || pending.lighting != nil
            if stream.admits(capturedAt: frame.captureTime, now: lookChanged), let jpeg = encoder.encode(frame) {
                budget.encoded(ContinuousClock.now - now)
                mirrors.publishFrame(descriptor.id, jpeg: jpeg)
                budget.streamed(frame)
            }
            reporter.registry.offer(frame, device: descriptor.id)
            budget.count(source.counters)
            reporter.registry.updateMirror(descriptor.id, budget.measures.counts)
            for _ in 0..<pending.snapshots {
                guard let jpeg = snapshotEncoder.encode(frame) else { continue }
                do {
                    let stored = try mirrors.storeSnapshot(
                        jpeg, device: descriptor.id, shade: session.shade?.shade, ttl: settings.snapshotTTLSeconds)
                    results.append(session.snapshot(id: stored.id, expires: stored.expires, at: frame.captureTime))
                } catch {
                    health.lastError = "snapshot could not be stored: \(error.localizedDescription)"
                    reporter.logger.error("device \(descriptor.id): \(health.lastError!)")
                }
            }
            if !results.isEmpty { try await publish(results) }
            if reporter.registry.takeRestartRequest(descriptor.id) { throw RestartRequested() }
            if now - lastBudget >= .seconds(1) {
                lastBudget = now
                health.frameBudget = budget.summary(source.counters)
            }
            await beat(&health, lastHealth: &lastHealth, lastCounters: &lastCounters)
        }
    }

    private func publish(_ results: [any TryOnEventData]) async throws {
        let source = "storehub://\(reporter.hubID)/\(descriptor.id)"
        var drafts: [EventDraft] = []
        for result in results {
            let event = CloudEvent(
                source: source, type: EventType.tryOnResult, subject: "tryon.result.\(descriptor.id)",
                data: result.json(device: descriptor.id))
            // Shades tried and pictures taken count in the insights; visits, bag additions and member links do not.
            let insight = (result as? TryOnResult).flatMap { result -> InsightFact? in
                guard result.kind != .wishlist else { return nil }
                return InsightFact.tryOn(
                    device: descriptor.id.rawValue, session: result.session, sku: result.shade.sku,
                    dwellSeconds: result.dwellSeconds, picture: result.kind == .snapshot)
            }
            drafts.append(EventDraft(topic: event.subject, body: try event.encoded(), insight: insight))
        }
        _ = try await reporter.log.append(drafts)
    }
}

/// A try-on result: a shade tried for a while, a snapshot of it, or one put in the bag.
struct TryOnResult: Equatable, TryOnEventData {
    enum Kind: String { case tried, snapshot, wishlist }
    var kind: Kind
    var session: String
    var shade: Shade
    var dwellSeconds: Double
    var snapshot: (id: String, expires: Date)?
    var locator: LocatorKind?
    /// The member code linked to the visit, if any.
    var member: String?

    static func == (a: TryOnResult, b: TryOnResult) -> Bool {
        a.kind == b.kind && a.session == b.session && a.shade == b.shade && a.dwellSeconds == b.dwellSeconds
            && a.snapshot?.id == b.snapshot?.id
    }

    func json(device: DeviceID) -> JSONValue {
        var fields: [String: JSONValue] = [
            "device": .string(device.rawValue), "kind": .string(kind.rawValue), "session": .string(session),
            "sku": .string(shade.sku), "shadeName": .string(shade.name), "brand": .string(shade.brand),
            "dwellSeconds": .double((dwellSeconds * 10).rounded() / 10),
            "locator": locator.map { .string($0.rawValue) } ?? .null,
        ]
        if let member { fields["member"] = .string(member) }
        if let snapshot {
            fields["snapshotId"] = .string(snapshot.id)
            fields["snapshotUrl"] = .string("/api/v1/snapshots/\(snapshot.id).jpg")
            fields["expires"] = .string(Timestamp.iso8601(snapshot.expires))
        }
        return .object(fields)
    }
}

/// One shopper at one mirror: the chosen shade, since when, and the session id that ties her results together.
/// A session starts with the first face or shade choice and ends when no face was seen for `absence` or on an
/// `end` command.
struct MirrorSession {
    let catalog: ShadeCatalog
    private(set) var cycleSeconds: Double?
    static let absence: TimeInterval = 10
    private(set) var id: String?
    private(set) var shade: PreparedShade?
    /// The member code held up during this visit; cleared when it ends.
    private(set) var member: String?
    private var shadeSince: Date?
    private var lastFace: Date?
    private var lastLocator: LocatorKind?

    init(catalog: ShadeCatalog, settings: MirrorSettings) {
        self.catalog = catalog
        cycleSeconds = settings.cycleShadesSeconds
        let initial =
            settings.defaultShade.flatMap { catalog[$0] } ?? (cycleSeconds != nil ? catalog.shades.first : nil)
        shade = initial.flatMap(PreparedShade.init)
    }

    private mutating func ensureSession(at time: Date) -> String {
        if let id { return id }
        let fresh = UUID().uuidString.lowercased()
        id = fresh
        shadeSince = time
        return fresh
    }

    private func tried(at time: Date) -> TryOnResult? {
        guard let id, let shade, let since = shadeSince else { return nil }
        let dwell = time.timeIntervalSince(since)
        guard dwell >= 1 else { return nil }
        return TryOnResult(
            kind: .tried, session: id, shade: shade.shade, dwellSeconds: dwell, snapshot: nil, locator: lastLocator,
            member: member)
    }

    /// A shopper picked `sku`: the previous shade's dwell becomes a result.
    mutating func select(_ sku: String, at time: Date) -> Result<TryOnResult?, SelectError> {
        guard let chosen = catalog[sku], let prepared = PreparedShade(chosen) else {
            return .failure(SelectError(description: "unknown shade '\(sku)' asked for (not in the catalog)"))
        }
        let result = tried(at: time)
        _ = ensureSession(at: time)
        shade = prepared
        shadeSince = time
        return .success(result)
    }

    struct SelectError: Error, CustomStringConvertible { var description: String }

    /// A member code was seen: the visit (started now if need be) is hers. Nil when it was linked already.
    mutating func link(member code: String, at time: Date) -> MemberLinked? {
        guard code != member else { return nil }
        member = code
        return MemberLinked(session: ensureSession(at: time), member: code)
    }

    /// A shopper chose a shade herself: the demo's cycling stops for good.
    mutating func pauseCycling() { cycleSeconds = nil }

    /// "Add to bag": a result naming `sku`, for the order service.
    mutating func wishlist(_ sku: String, at time: Date) -> Result<TryOnResult, SelectError> {
        guard let shade = catalog[sku] else {
            return .failure(SelectError(description: "unknown shade '\(sku)' put in the bag (not in the catalog)"))
        }
        let session = ensureSession(at: time)
        return .success(
            TryOnResult(
                kind: .wishlist, session: session, shade: shade, dwellSeconds: 0, snapshot: nil, locator: lastLocator,
                member: member))
    }

    mutating func cycleIfDue(at time: Date) -> TryOnResult? {
        guard let cycleSeconds, let since = shadeSince ?? Optional(time) else { return nil }
        if shadeSince == nil { shadeSince = time }
        guard time.timeIntervalSince(since) >= cycleSeconds else { return nil }
        let index = shade.flatMap { current in catalog.shades.firstIndex { $0.sku == current.shade.sku } } ?? -1
        let next = catalog.shades[(index + 1) % catalog.shades.count]
        return try? select(next.sku, at: time).get()
    }

    /// Notes whether a face is there. A visit whose face has been gone for `absence` ends then, whether or not
    /// anyone comes next (her picture and choice leave the screen), and its last result is returned.
    mutating func observe(_ outcome: TryOnRenderer.Outcome, at time: Date) -> TryOnResult? {
        let face = outcome.strength > 0 || outcome.confidence >= 0.5
        var ended: TryOnResult?
        if let last = lastFace, time.timeIntervalSince(last) > Self.absence {
            lastFace = nil
            if id != nil { ended = end(at: last) }
        }
        guard face else { return ended }
        lastFace = time
        lastLocator = outcome.locator
        _ = ensureSession(at: time)
        return ended
    }

    mutating func end(at time: Date) -> TryOnResult? {
        let result = tried(at: time)
        id = nil
        member = nil
        shadeSince = nil
        return result
    }

    mutating func snapshot(id snapshotID: String, expires: Date, at time: Date) -> TryOnResult {
        let session = ensureSession(at: time)
        let shade = self.shade?.shade ?? catalog.shades[0]
        return TryOnResult(
            kind: .snapshot, session: session, shade: shade,
            dwellSeconds: shadeSince.map { time.timeIntervalSince($0) } ?? 0,
            snapshot: (snapshotID, expires), locator: lastLocator, member: member)
    }
}
