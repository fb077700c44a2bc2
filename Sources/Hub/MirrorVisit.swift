import HubCore

/// The data of one `tryon.result.<device>` event.
protocol TryOnEventData {
    func json(device: DeviceID) -> JSONValue
}

/// A shopper's visit at a mirror began or ended (`kind` `visit`): the mirror's screen shows its attract screen
/// between visits, and the order service can count them. A visit is the mirror's session: it starts with the first
/// face or choice and ends on "Done" or after `MirrorSession.absence` without a face.
struct MirrorVisit: TryOnEventData {
    var session: String
    var started: Bool

    func json(device: DeviceID) -> JSONValue {
        .object([
            "device": .string(device.rawValue), "kind": .string("visit"),
            "visit": .string(started ? "started" : "ended"), "session": .string(session),
        ])
    }

    /// The events for a session change from `old` to `new`, which `hub` also records for screens that connect later.
    static func changes(from old: String?, to new: String?, hub: MirrorHub, device: DeviceID) -> [MirrorVisit] {
        hub.setVisit(device, new)
        return (old.map { [MirrorVisit(session: $0, started: false)] } ?? [])
            + (new.map { [MirrorVisit(session: $0, started: true)] } ?? [])
    }
}

/// A member code held up to the mirror linked the visit to a shopper's account (`kind` `member`): later results of
/// the visit carry it as `member`, so the order service can send her looks to her account.
struct MemberLinked: TryOnEventData {
    var session: String
    var member: String

    func json(device: DeviceID) -> JSONValue {
        .object([
            "device": .string(device.rawValue), "kind": .string("member"), "session": .string(session),
            "member": .string(member),
        ])
    }
}
