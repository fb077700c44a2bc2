/// What a token may do on the bus and the API.
package enum Role: String, Sendable, Codable, CaseIterable {
    /// Everything.
    case admin
    /// Shop staff: read every topic, command devices.
    case staff
    /// Order and sharing services: read scans, try-on results and device status; publish only answers for screens
    /// (`display.>`).
    case service
    /// One device outside the hub (an external face tracker, a kiosk screen's app): publishes only on its own
    /// device's topics and reads only the commands sent to it. The device is the token's, see `Principal`.
    case device
    /// A customer screen (a kiosk's or a mirror's display): only its own device's screen topics, see `Principal`.
    case screen

    /// Whether this role may subscribe to `pattern` (every topic it could match must be readable).
    package func maySubscribe(_ pattern: TopicPattern) -> Bool {
        switch self {
        case .admin, .staff:
            return true
        case .service:
            return Role.serviceReadable.contains { pattern.isCovered(by: $0) }
        case .device, .screen:
            return false  // only through its Principal, which knows the device
        }
    }

    /// Whether this role may publish on `topic`.
    package func mayPublish(_ topic: String) -> Bool {
        switch self {
        case .admin:
            return true
        case .staff:
            return Role.staffPublishable.contains { $0.matches(topic) }
        case .service:
            return Role.servicePublishable.matches(topic)
        case .device, .screen:
            return false
        }
    }

    /// May read the REST API's device list, hub panel and metrics (device and screen tokens may not).
    package var mayReadAPI: Bool { self != .device && self != .screen }

    private static let serviceReadable = ["scan.>", "tryon.>", "device.status.>"].map {
        try! TopicPattern(validating: $0)
    }
    private static let servicePublishable = try! TopicPattern(validating: "display.>")
    private static let staffPublishable = ["mirror.command.>", "device.command.>"].map {
        try! TopicPattern(validating: $0)
    }
}

/// Someone whose token was accepted.
package struct Principal: Sendable, Equatable {
    /// The token's public id (never the secret).
    package var tokenID: String
    package var role: Role
    /// For `device` and `screen` tokens: the device they speak for.
    package var device: DeviceID?
    /// For `screen` tokens: the kind of their device (kiosk or mirror), which decides their topics.
    package var deviceKind: DeviceKind?

    package init(tokenID: String, role: Role, device: DeviceID? = nil, deviceKind: DeviceKind? = nil) {
        self.tokenID = tokenID
        self.role = role
        self.device = device
        self.deviceKind = deviceKind
    }

    /// A screen's topics: a mirror's screen reads its try-on results and sends its mirror's commands, a kiosk's
    /// screen reads its scans and the services' answers; both read their device's status. Nothing for other roles.
    package var screenTopics: (read: [String], publish: [String]) {
        guard role == .screen, let device else { return ([], []) }
        switch deviceKind {
        case .mirror?: return (["tryon.result.\(device)", "device.status.\(device)"], ["mirror.command.\(device)"])
        case .kiosk?: return (["scan.\(device)", "display.\(device)", "device.status.\(device)"], [])
        default: return ([], [])
        }
    }

    /// Whether this token may subscribe to `pattern`: its role's rule, and for a device token the commands sent to
    /// its own device (`mirror.command.<device>`, `device.command.<device>`).
    package func maySubscribe(_ pattern: TopicPattern) -> Bool {
        if role == .screen {
            return screenTopics.read.contains { (try? TopicPattern(validating: $0)).map(pattern.isCovered) ?? false }
        }
        guard role == .device else { return role.maySubscribe(pattern) }
        guard let device else { return false }
        return ["mirror.command.\(device)", "device.command.\(device)"].contains { topic in
            (try? TopicPattern(validating: topic)).map { pattern.isCovered(by: $0) } ?? false
        }
    }

    /// Whether this token may publish on `topic`: its role's rule, and for a device token any topic of its own
    /// device (last segment) except commands and what screens show (`display.*`, which only services answer), and
    /// under `device.status.` only its own `device.status.<device>`.
    package func mayPublish(_ topic: String) -> Bool {
        if role == .screen { return screenTopics.publish.contains(topic) }
        guard role == .device else { return role.mayPublish(topic) }
        guard let device else { return false }
        let segments = topic.split(separator: ".")
        if topic.hasPrefix("device.status.") { return topic == Topic.deviceStatus(device) }
        return segments.count >= 2 && segments.last.map(String.init) == device.rawValue
            && !segments.contains("command") && segments.first != "display"
    }

    /// Who owns the durable consumers this token makes: its role, or for a device token its device. Two owners
    /// never share a consumer, and none is the hub's own (`uplink`, `sink/<name>`).
    package var consumerOwner: String {
        role == .device ? "device.\(device?.rawValue ?? "")" : role.rawValue
    }

    /// The event log's name for the durable consumer this token calls `name` (a bus name, which holds no `/`).
    package func consumerName(_ name: String) -> String { "\(consumerOwner)/\(name)" }

    /// Who owns a consumer of the event log and the name it goes by: a client's (`consumerName`), or the hub's
    /// own (`uplink`, `sink/<name>`, owner `hub`).
    package static func consumerOwnerAndName(_ logName: String) -> (owner: String, name: String) {
        guard !logName.hasPrefix("sink/"), let slash = logName.firstIndex(of: "/") else { return ("hub", logName) }
        return (String(logName[..<slash]), String(logName[logName.index(after: slash)...]))
    }

    /// "device token for mirror-1", "staff token": for error messages.
    package var description: String {
        role == .device || role == .screen
            ? "\(role.rawValue) token for \(device?.rawValue ?? "?")" : "\(role.rawValue) token"
    }
}

/// A device's last known state and last scan, as the status API shows it.
package struct DeviceSummary: Sendable, Codable, Equatable {
    package var status: DeviceStatus
    package var lastScan: LastScan?

    /// A scan as staff see it in the device list.
    package struct LastScan: Sendable, Codable, Equatable {
        package var symbology: String
        package var text: String
        package var time: String

        package init(symbology: String, text: String, time: String) {
            self.symbology = symbology
            self.text = text
            self.time = time
        }
    }

    package init(status: DeviceStatus, lastScan: LastScan?) {
        self.status = status
        self.lastScan = lastScan
    }
}
