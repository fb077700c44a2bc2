/// What a token may do on the bus and the API.
public enum Role: String, Sendable, Codable, CaseIterable {
    /// Everything.
    case admin
    /// Shop staff: read every topic, command devices.
    case staff
    /// Order and sharing services: read scans, try-on results and device status.
    case service

    /// Whether this role may subscribe to `pattern` (every topic it could match must be readable).
    public func maySubscribe(_ pattern: TopicPattern) -> Bool {
        switch self {
        case .admin, .staff:
            return true
        case .service:
            return Role.serviceReadable.contains { pattern.isCovered(by: $0) }
        }
    }

    /// Whether this role may publish on `topic`.
    public func mayPublish(_ topic: String) -> Bool {
        switch self {
        case .admin:
            return true
        case .staff:
            return Role.staffPublishable.contains { $0.matches(topic) }
        case .service:
            return false
        }
    }

    /// May read the REST API's device list and event history.
    public var mayReadAPI: Bool { true }

    private static let serviceReadable = ["scan.>", "tryon.>", "device.status.>"].map {
        try! TopicPattern(validating: $0)
    }
    private static let staffPublishable = ["mirror.command.>", "device.command.>"].map {
        try! TopicPattern(validating: $0)
    }
}

/// Someone whose token was accepted.
public struct Principal: Sendable, Equatable {
    /// The token's public id (never the secret).
    public var tokenID: String
    public var role: Role

    public init(tokenID: String, role: Role) {
        self.tokenID = tokenID
        self.role = role
    }
}

/// A device's last known state and last scan, as the status API shows it.
public struct DeviceSummary: Sendable, Codable, Equatable {
    public var status: DeviceStatus
    public var lastScan: LastScan?

    /// A scan as staff see it in the device list.
    public struct LastScan: Sendable, Codable, Equatable {
        public var symbology: String
        public var text: String
        public var time: String

        public init(symbology: String, text: String, time: String) {
            self.symbology = symbology
            self.text = text
            self.time = time
        }
    }

    public init(status: DeviceStatus, lastScan: LastScan?) {
        self.status = status
        self.lastScan = lastScan
    }
}
