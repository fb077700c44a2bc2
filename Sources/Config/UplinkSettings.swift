import HubCore

/// The hub's MQTT uplink to the chain's broker cluster (the `uplink` section of hub.json).
///
/// Absent section: no uplink. Relative file paths are relative to the config file's folder.
package struct UplinkSettings: Sendable, Decodable, Equatable {
    /// Broker addresses, `mqtt://host:port` or `mqtts://host:port`, tried in turn.
    package var brokers: [Broker]
    /// The shop's id in the chain; part of the client id and of the default topic prefix.
    package var store: String
    package var username: String?
    /// File holding the password (first line); keep it readable by the hub only. Never logged.
    package var passwordFile: String?
    /// PEM file of the CA that signs the brokers' certificates. When set, only this CA is trusted (pinning);
    /// absent, mqtts:// uses the system's trust store.
    package var caFile: String?
    /// Host name the broker certificate must carry; absent: each broker's host.
    package var serverName: String?
    package var keepaliveSeconds: Int
    /// Put in front of every MQTT topic, `chain/<store>/` by default; ends with `/`.
    package var topicPrefix: String
    /// Which bus topics go up.
    package var topics: [TopicPattern]
    /// Whether to subscribe to `<prefix>command/#` and republish commands on the local bus.
    package var commands: Bool
    /// PUBLISH packets sent and not yet acknowledged by the broker, at most.
    package var maxInFlight: Int
    /// Backlog (events not yet acknowledged by the broker) above which the hub warns.
    package var backlogWarning: Int

    /// One broker address.
    package struct Broker: Sendable, Equatable, CustomStringConvertible {
        package var host: String
        package var port: Int
        package var tls: Bool

        package init(host: String, port: Int, tls: Bool) {
            self.host = host
            self.port = port
            self.tls = tls
        }

        /// Parses `mqtt://host[:port]` (1883 by default) or `mqtts://host[:port]` (8883).
        package init(url: String) throws(ValidationError) {
            let tls: Bool
            let rest: Substring
            if url.hasPrefix("mqtt://") {
                (tls, rest) = (false, url.dropFirst("mqtt://".count))
            } else if url.hasPrefix("mqtts://") {
                (tls, rest) = (true, url.dropFirst("mqtts://".count))
            } else {
                throw ValidationError("expected mqtt://host:port or mqtts://host:port, found \"\(url)\"")
            }
            let authority = rest.hasSuffix("/") ? rest.dropLast() : rest
            var host = String(authority)
            var port = tls ? 8883 : 1883
            if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
                host = String(authority[...close])
                let after = authority[authority.index(after: close)...]
                if after.hasPrefix(":") {
                    guard let value = Int(after.dropFirst()) else {
                        throw ValidationError("bad port in \"\(url)\"")
                    }
                    port = value
                }
            } else if let colon = authority.lastIndex(of: ":") {
                host = String(authority[..<colon])
                guard let value = Int(authority[authority.index(after: colon)...]) else {
                    throw ValidationError("bad port in \"\(url)\"")
                }
                port = value
            }
            guard !host.contains("@") else {
                throw ValidationError("expected a host name in \"\(url)\" (credentials go in username/passwordFile)")
            }
            let checked: String
            do throws(ValidationError) {
                checked = try IPAddress.connectableHost(host, port: port)
            } catch {
                throw ValidationError("\(error.reason) in \"\(url)\"")
            }
            self.init(host: checked, port: port, tls: tls)
        }

        package var description: String { "\(tls ? "mqtts" : "mqtt")://\(host):\(port)" }
    }

    /// The default bus topics that go up: scans, try-on results and device status.
    package static let defaultTopics = ["scan.>", "tryon.>", "device.status.>"]

    enum CodingKeys: String, CodingKey, CaseIterable {
        case brokers, store, username, passwordFile, caFile, serverName, keepaliveSeconds, topicPrefix, topics, commands
        case maxInFlight, backlogWarning
    }

    package init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(allowed: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let urls = try c.decode([String].self, forKey: .brokers)
        guard !urls.isEmpty else {
            throw DecodingError.dataCorruptedError(
                forKey: .brokers, in: c, debugDescription: "expected at least one broker URL")
        }
        brokers = []
        for url in urls {
            do {
                brokers.append(try Broker(url: url))
            } catch {
                throw DecodingError.dataCorruptedError(forKey: .brokers, in: c, debugDescription: error.reason)
            }
        }
        store = try c.decode(String.self, forKey: .store)
        do {
            _ = try DeviceID(validating: store)
        } catch {
            throw DecodingError.dataCorruptedError(forKey: .store, in: c, debugDescription: "store id \(error.reason)")
        }
        username = try c.decodeIfPresent(String.self, forKey: .username)
        passwordFile = try c.decodeIfPresent(String.self, forKey: .passwordFile)
        caFile = try c.decodeIfPresent(String.self, forKey: .caFile)
        serverName = try c.decodeIfPresent(String.self, forKey: .serverName)
        keepaliveSeconds = try c.decodeIfPresent(Int.self, forKey: .keepaliveSeconds) ?? 30
        guard (2...3600).contains(keepaliveSeconds) else {
            throw DecodingError.dataCorruptedError(
                forKey: .keepaliveSeconds, in: c, debugDescription: "expected 2 to 3600 seconds")
        }
        topicPrefix = try c.decodeIfPresent(String.self, forKey: .topicPrefix) ?? "chain/\(store)/"
        guard topicPrefix.hasSuffix("/"), !topicPrefix.hasPrefix("/"), !topicPrefix.contains("//"),
            !topicPrefix.contains(where: { $0 == "#" || $0 == "+" || $0 == "\0" })
        else {
            throw DecodingError.dataCorruptedError(
                forKey: .topicPrefix, in: c,
                debugDescription: "expected MQTT topic levels ending with '/', without wildcards, like chain/store-1/")
        }
        let patterns = try c.decodeIfPresent([String].self, forKey: .topics) ?? Self.defaultTopics
        topics = []
        for pattern in patterns {
            do {
                topics.append(try TopicPattern(validating: pattern))
            } catch {
                throw DecodingError.dataCorruptedError(
                    forKey: .topics, in: c, debugDescription: "\"\(pattern)\": \(error.reason)")
            }
        }
        commands = try c.decodeIfPresent(Bool.self, forKey: .commands) ?? true
        maxInFlight = try c.decodeIfPresent(Int.self, forKey: .maxInFlight) ?? 64
        guard (1...65535).contains(maxInFlight) else {
            throw DecodingError.dataCorruptedError(forKey: .maxInFlight, in: c, debugDescription: "expected 1 to 65535")
        }
        backlogWarning = try c.decodeIfPresent(Int.self, forKey: .backlogWarning) ?? 10_000
        guard backlogWarning >= 1 else {
            throw DecodingError.dataCorruptedError(
                forKey: .backlogWarning, in: c, debugDescription: "expected at least 1")
        }
    }

    /// The MQTT client id: stable per shop and hub, so the broker keeps the session across reconnects.
    package func clientID(hub: String) -> String { "storehub-\(store)-\(hub)" }
}
