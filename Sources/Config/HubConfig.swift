import Foundation
import HubCore

/// The hub's own settings (one JSON file). Relative paths in it are relative to the file's folder.
package struct HubConfig: Sendable, Decodable, Equatable {
    /// Names this hub in event sources (`storehub://<hub>/<device>`).
    package var hub: String
    package var listen: Listen
    /// Folder of device descriptors (`*.json`).
    package var devices: String
    /// Where the event log and tokens live; absent: `.storehub` in the working directory.
    package var stateDirectory: String?
    /// Folder of the status page; absent: no status page is served.
    package var statusPage: String?
    /// The try-on mirrors' shade catalog (JSON); required when a mirror is configured.
    package var shades: String?
    /// The folder with the face models (face_detection_short_range.tflite, face_landmark.tflite) the mirrors' native
    /// lip locator runs; default `<stateDirectory>/models`. Without them mirrors use the classical locator.
    package var models: String?
    package var log: LogSettings
    package var bus: BusSettings
    /// Webhook sinks: services that get events POSTed instead of holding a WebSocket open.
    package var sinks: [SinkSettings]
    /// The MQTT uplink to the chain's broker; nil: none.
    package var uplink: UplinkSettings?
    /// Folder of the customer screens' pages (`/screens/<kind>/<device>`); absent: no screens are served.
    package var screens: String?
    /// Where the mirror screens' share QR codes lead.
    package var share: ShareSettings = ShareSettings()
    /// Public keys for signed pickup codes; nil: codes are not checked (docs/pickup.md).
    package var pickup: PickupSettings?

    package struct Listen: Sendable, Decodable, Equatable {
        package var host: String
        package var port: Int
        /// Web origins (`https://kiosk.example`) whose pages may open the bus besides the hub's own status page.
        package var allowedOrigins: [String]
        /// TLS on this listener; nil or disabled: plain HTTP.
        package var tls: TLSSettings?

        package init(
            host: String = "127.0.0.1", port: Int = 8080, allowedOrigins: [String] = [], tls: TLSSettings? = nil
        ) {
            self.host = host
            self.port = port
            self.allowedOrigins = allowedOrigins
            self.tls = tls
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case host, port, allowedOrigins, tls }

        package init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(allowed: CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            host = try c.decodeIfPresent(String.self, forKey: .host) ?? "127.0.0.1"
            port = try c.decodeIfPresent(Int.self, forKey: .port) ?? 8080
            allowedOrigins = try c.decodeIfPresent([String].self, forKey: .allowedOrigins) ?? []
            tls = try c.decodeIfPresent(TLSSettings.self, forKey: .tls)
            if let bad = allowedOrigins.first(where: { !($0.hasPrefix("http://") || $0.hasPrefix("https://")) }) {
                throw DecodingError.dataCorruptedError(
                    forKey: .allowedOrigins, in: c,
                    debugDescription: "expected origins like https://kiosk.example, found \"\(bad)\"")
            }
            guard (0...65535).contains(port) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .port, in: c, debugDescription: "expected a port 0-65535")
            }
        }

        /// Whether only this machine can reach the listener.
        package var isLoopback: Bool {
            host == "127.0.0.1" || host == "::1" || host == "localhost" || host.hasPrefix("127.")
        }
    }

    /// Event log retention and durability.
    package struct LogSettings: Sendable, Decodable, Equatable {
        package var maxAgeHours: Double
        package var maxEvents: Int
        /// Bytes the database may use; checked at commit time, the oldest events go first.
        package var maxBytes: Int
        /// Topics whose last event is kept for new subscribers (`device.status.<device>`), at most; a status of one
        /// more device is still logged and delivered, but not kept.
        package var maxRetainedTopics: Int
        /// How long a client's event `id` is remembered: a repeat from the same token within it is not a new event.
        package var dedupeWindowHours: Double
        /// Group commit: while events keep coming, the log commits at most once per this many milliseconds, so one
        /// disk flush holds every event that arrived meanwhile. An event is still acknowledged only once it is on
        /// disk; the acknowledgement waits at most this long, live subscribers do not wait. 0: every commit at once.
        package var commitDelayMs: Double

        package init(
            maxAgeHours: Double = 168, maxEvents: Int = 5_000_000, maxBytes: Int = 2 << 30,
            maxRetainedTopics: Int = 1024, dedupeWindowHours: Double = 24, commitDelayMs: Double = 2
        ) {
            self.maxAgeHours = maxAgeHours
            self.maxEvents = maxEvents
            self.maxBytes = maxBytes
            self.maxRetainedTopics = maxRetainedTopics
            self.dedupeWindowHours = dedupeWindowHours
            self.commitDelayMs = commitDelayMs
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case maxAgeHours, maxEvents, maxBytes, maxRetainedTopics, dedupeWindowHours, commitDelayMs
        }

        package init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(allowed: CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let defaults = LogSettings()
            maxAgeHours = try c.decodeIfPresent(Double.self, forKey: .maxAgeHours) ?? defaults.maxAgeHours
            maxEvents = try c.decodeIfPresent(Int.self, forKey: .maxEvents) ?? defaults.maxEvents
            maxBytes = try c.decodeIfPresent(Int.self, forKey: .maxBytes) ?? defaults.maxBytes
            maxRetainedTopics =
                try c.decodeIfPresent(Int.self, forKey: .maxRetainedTopics) ?? defaults.maxRetainedTopics
            guard maxRetainedTopics >= 1 else {
                throw DecodingError.dataCorruptedError(
                    forKey: .maxRetainedTopics, in: c, debugDescription: "expected at least 1 topic")
            }
            dedupeWindowHours =
                try c.decodeIfPresent(Double.self, forKey: .dedupeWindowHours) ?? defaults.dedupeWindowHours
            guard dedupeWindowHours > 0, dedupeWindowHours <= 24 * 365 else {
                throw DecodingError.dataCorruptedError(
                    forKey: .dedupeWindowHours, in: c, debugDescription: "expected 0 < hours <= 8760")
            }
            guard maxAgeHours > 0 else {
                throw DecodingError.dataCorruptedError(
                    forKey: .maxAgeHours, in: c, debugDescription: "expected a positive number of hours")
            }
            guard maxEvents >= 1000 else {
                throw DecodingError.dataCorruptedError(
                    forKey: .maxEvents, in: c, debugDescription: "expected at least 1000 events")
            }
            guard maxBytes >= 1 << 20 else {
                throw DecodingError.dataCorruptedError(
                    forKey: .maxBytes, in: c, debugDescription: "expected at least 1048576 bytes")
            }
            commitDelayMs = try c.decodeIfPresent(Double.self, forKey: .commitDelayMs) ?? defaults.commitDelayMs
            guard commitDelayMs >= 0, commitDelayMs <= 100 else {
                throw DecodingError.dataCorruptedError(
                    forKey: .commitDelayMs, in: c, debugDescription: "expected 0 <= milliseconds <= 100")
            }
        }
    }

    /// Limits of the WebSocket bus. docs/protocol.md says how each refusal looks to a client.
    package struct BusSettings: Sendable, Decodable, Equatable {
        /// Events a live subscription may have queued before the oldest are dropped.
        package var liveBuffer: Int
        /// Unacknowledged events a durable consumer may have outstanding, unless it asks for fewer.
        package var maxInFlight: Int
        /// Largest client message, in bytes.
        package var maxMessageBytes: Int
        /// Open bus connections; one more is refused with close code 1013.
        package var maxConnections: Int
        /// Subscriptions one connection may hold.
        package var maxSubscriptionsPerConnection: Int
        /// Bytes the hub may hold for one connection that does not read them; past it the connection is closed (4008).
        package var maxQueuedBytesPerConnection: Int
        /// Events per second one token may publish, summed over its connections, with bursts of `publishBurst`.
        package var publishRatePerToken: Double
        package var publishBurst: Int
        /// Bytes of events per second one token may publish (summed over its connections); device tokens get
        /// `devicePublishBytesPerSecond` instead. A token may burst four seconds' worth, at least one largest message.
        package var publishBytesPerSecond: Int
        package var devicePublishBytesPerSecond: Int
        /// Subscribes, unsubscribes and pings per second on one connection, with bursts of `controlBurst`.
        package var controlRatePerConnection: Double
        package var controlBurst: Int
        /// Durable consumer names one token's owner (its role, or a device token's device) may create.
        package var maxConsumersPerOwner: Int
        /// Largest event on a retained topic (`device.status.<device>`), in bytes.
        package var maxRetainedEventBytes: Int
        /// The hub pings every connection this often; one that has not answered the previous ping is closed (1001).
        package var pingIntervalSeconds: Double
        /// Test only: `?echo=<admin token>` on the bus endpoint echoes WebSocket messages, for the conformance suite.
        package var conformanceEcho: Bool

        package init(
            liveBuffer: Int = 1024, maxInFlight: Int = 256, maxMessageBytes: Int = 65536, maxConnections: Int = 256,
            maxSubscriptionsPerConnection: Int = 64, maxQueuedBytesPerConnection: Int = 8 << 20,
            publishRatePerToken: Double = 1000, publishBurst: Int = 2000, publishBytesPerSecond: Int = 1 << 20,
            devicePublishBytesPerSecond: Int = 64 << 10, controlRatePerConnection: Double = 100,
            controlBurst: Int = 200,
            maxConsumersPerOwner: Int = 64, maxRetainedEventBytes: Int = 16 << 10, pingIntervalSeconds: Double = 30,
            conformanceEcho: Bool = false
        ) {
            self.liveBuffer = liveBuffer
            self.maxInFlight = maxInFlight
            self.maxMessageBytes = maxMessageBytes
            self.maxConnections = maxConnections
            self.maxSubscriptionsPerConnection = maxSubscriptionsPerConnection
            self.maxQueuedBytesPerConnection = maxQueuedBytesPerConnection
            self.publishRatePerToken = publishRatePerToken
            self.publishBurst = publishBurst
            self.publishBytesPerSecond = publishBytesPerSecond
            self.devicePublishBytesPerSecond = devicePublishBytesPerSecond
            self.controlRatePerConnection = controlRatePerConnection
            self.controlBurst = controlBurst
            self.maxConsumersPerOwner = maxConsumersPerOwner
            self.maxRetainedEventBytes = maxRetainedEventBytes
            self.pingIntervalSeconds = pingIntervalSeconds
            self.conformanceEcho = conformanceEcho
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case liveBuffer, maxInFlight, maxMessageBytes, maxConnections, maxSubscriptionsPerConnection
            case maxQueuedBytesPerConnection, publishRatePerToken, publishBurst, pingIntervalSeconds, conformanceEcho
            case publishBytesPerSecond, devicePublishBytesPerSecond, controlRatePerConnection, controlBurst
            case maxConsumersPerOwner, maxRetainedEventBytes
        }

        package init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(allowed: CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let defaults = BusSettings()
            liveBuffer = try c.decodeIfPresent(Int.self, forKey: .liveBuffer) ?? defaults.liveBuffer
            maxInFlight = try c.decodeIfPresent(Int.self, forKey: .maxInFlight) ?? defaults.maxInFlight
            maxMessageBytes = try c.decodeIfPresent(Int.self, forKey: .maxMessageBytes) ?? defaults.maxMessageBytes
            maxConnections = try c.decodeIfPresent(Int.self, forKey: .maxConnections) ?? defaults.maxConnections
            maxSubscriptionsPerConnection =
                try c.decodeIfPresent(Int.self, forKey: .maxSubscriptionsPerConnection)
                ?? defaults.maxSubscriptionsPerConnection
            maxQueuedBytesPerConnection =
                try c.decodeIfPresent(Int.self, forKey: .maxQueuedBytesPerConnection)
                ?? defaults.maxQueuedBytesPerConnection
            publishRatePerToken =
                try c.decodeIfPresent(Double.self, forKey: .publishRatePerToken) ?? defaults.publishRatePerToken
            publishBurst = try c.decodeIfPresent(Int.self, forKey: .publishBurst) ?? defaults.publishBurst
            publishBytesPerSecond =
                try c.decodeIfPresent(Int.self, forKey: .publishBytesPerSecond) ?? defaults.publishBytesPerSecond
            devicePublishBytesPerSecond =
                try c.decodeIfPresent(Int.self, forKey: .devicePublishBytesPerSecond)
                ?? defaults.devicePublishBytesPerSecond
            controlRatePerConnection =
                try c.decodeIfPresent(Double.self, forKey: .controlRatePerConnection)
                ?? defaults.controlRatePerConnection
            controlBurst = try c.decodeIfPresent(Int.self, forKey: .controlBurst) ?? defaults.controlBurst
            maxConsumersPerOwner =
                try c.decodeIfPresent(Int.self, forKey: .maxConsumersPerOwner) ?? defaults.maxConsumersPerOwner
            maxRetainedEventBytes =
                try c.decodeIfPresent(Int.self, forKey: .maxRetainedEventBytes) ?? defaults.maxRetainedEventBytes
            pingIntervalSeconds =
                try c.decodeIfPresent(Double.self, forKey: .pingIntervalSeconds) ?? defaults.pingIntervalSeconds
            conformanceEcho = try c.decodeIfPresent(Bool.self, forKey: .conformanceEcho) ?? false
            for (key, value, low) in [
                (CodingKeys.liveBuffer, liveBuffer, 1), (.maxInFlight, maxInFlight, 1),
                (.maxMessageBytes, maxMessageBytes, 1024), (.maxConnections, maxConnections, 1),
                (.maxSubscriptionsPerConnection, maxSubscriptionsPerConnection, 1),
                (.maxQueuedBytesPerConnection, maxQueuedBytesPerConnection, 65536), (.publishBurst, publishBurst, 1),
                (.publishBytesPerSecond, publishBytesPerSecond, 1024),
                (.devicePublishBytesPerSecond, devicePublishBytesPerSecond, 1024), (.controlBurst, controlBurst, 1),
                (.maxConsumersPerOwner, maxConsumersPerOwner, 1), (.maxRetainedEventBytes, maxRetainedEventBytes, 256),
            ] where value < low {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "expected at least \(low)")
            }
            guard publishRatePerToken > 0, publishRatePerToken.isFinite else {
                throw DecodingError.dataCorruptedError(
                    forKey: .publishRatePerToken, in: c,
                    debugDescription: "expected a positive number of events per second")
            }
            guard controlRatePerConnection > 0, controlRatePerConnection.isFinite else {
                throw DecodingError.dataCorruptedError(
                    forKey: .controlRatePerConnection, in: c,
                    debugDescription: "expected a positive number of operations per second")
            }
            guard pingIntervalSeconds >= 1, pingIntervalSeconds <= 3600 else {
                throw DecodingError.dataCorruptedError(
                    forKey: .pingIntervalSeconds, in: c, debugDescription: "expected 1 to 3600 seconds")
            }
        }
    }

    package init(
        hub: String = "storehub", listen: Listen = Listen(), devices: String = "devices", stateDirectory: String? = nil,
        statusPage: String? = nil, log: LogSettings = LogSettings(), bus: BusSettings = BusSettings(),
        sinks: [SinkSettings] = []
    ) {
        self.hub = hub
        self.listen = listen
        self.devices = devices
        self.stateDirectory = stateDirectory
        self.statusPage = statusPage
        self.log = log
        self.bus = bus
        self.sinks = sinks
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case hub, listen, devices, stateDirectory, statusPage, shades, models, log, bus, sinks, uplink, screens, share,
            pickup
    }

    package init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(allowed: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        hub = try c.decode(String.self, forKey: .hub)
        listen = try c.decodeIfPresent(Listen.self, forKey: .listen) ?? Listen()
        devices = try c.decode(String.self, forKey: .devices)
        stateDirectory = try c.decodeIfPresent(String.self, forKey: .stateDirectory)
        statusPage = try c.decodeIfPresent(String.self, forKey: .statusPage)
        shades = try c.decodeIfPresent(String.self, forKey: .shades)
        models = try c.decodeIfPresent(String.self, forKey: .models)
        log = try c.decodeIfPresent(LogSettings.self, forKey: .log) ?? LogSettings()
        bus = try c.decodeIfPresent(BusSettings.self, forKey: .bus) ?? BusSettings()
        if bus.conformanceEcho && !listen.isLoopback {
            throw DecodingError.dataCorruptedError(
                forKey: .bus, in: c, debugDescription: "conformanceEcho is for tests and needs a loopback listen.host")
        }
        sinks = try c.decodeIfPresent([SinkSettings].self, forKey: .sinks) ?? []
        if let name = Dictionary(grouping: sinks, by: \.name).first(where: { $0.value.count > 1 })?.key {
            throw DecodingError.dataCorruptedError(
                forKey: .sinks, in: c, debugDescription: "two sinks are named \"\(name)\"; names must be unique")
        }
        uplink = try c.decodeIfPresent(UplinkSettings.self, forKey: .uplink)
        screens = try c.decodeIfPresent(String.self, forKey: .screens)
        share = try c.decodeIfPresent(ShareSettings.self, forKey: .share) ?? ShareSettings()
        pickup = try c.decodeIfPresent(PickupSettings.self, forKey: .pickup)
        do {
            _ = try DeviceID(validating: hub)
        } catch {
            throw DecodingError.dataCorruptedError(forKey: .hub, in: c, debugDescription: "hub id \(error.reason)")
        }
    }
}
