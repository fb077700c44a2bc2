import Foundation
import HubCore

/// A webhook sink (`sinks[]` in hub.json): events of some topics POSTed to a service's URL, in order, at least once.
package struct SinkSettings: Sendable, Decodable, Equatable {
    /// Names the sink; its cursor in the log is the durable consumer `sink:<name>`.
    package var name: String
    /// `http://` or `https://` URL the events are POSTed to.
    package var url: String
    /// Topic patterns (`scan.>`, `tryon.result.*`); an event matching any of them is delivered.
    package var topics: [String]
    /// Extra request headers, e.g. `Authorization`. Their values are secrets: never logged, never shown.
    package var headers: [String: String]
    /// Failed attempts after which an event goes to the dead-letter list and delivery moves on.
    package var maxAttempts: Int
    /// First retry delay, seconds; it doubles per failed attempt (with jitter) up to `maxRetryDelaySeconds`.
    package var retryDelaySeconds: Double
    package var maxRetryDelaySeconds: Double
    /// How long one POST may take, connecting included, before it counts as failed.
    package var timeoutSeconds: Double
    /// PEM file of the certificate(s) an `https` service is checked against instead of the system's roots.
    package var caFile: String?

    package init(
        name: String, url: String, topics: [String], headers: [String: String] = [:], maxAttempts: Int = 8,
        retryDelaySeconds: Double = 0.5, maxRetryDelaySeconds: Double = 60, timeoutSeconds: Double = 10,
        caFile: String? = nil
    ) {
        self.name = name
        self.url = url
        self.topics = topics
        self.headers = headers
        self.maxAttempts = maxAttempts
        self.retryDelaySeconds = retryDelaySeconds
        self.maxRetryDelaySeconds = maxRetryDelaySeconds
        self.timeoutSeconds = timeoutSeconds
        self.caFile = caFile
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, url, topics, headers, maxAttempts, retryDelaySeconds, maxRetryDelaySeconds, timeoutSeconds, caFile
    }

    package init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(allowed: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = SinkSettings(name: "", url: "", topics: [])
        name = try c.decode(String.self, forKey: .name)
        url = try c.decode(String.self, forKey: .url)
        topics = try c.decode([String].self, forKey: .topics)
        headers = try c.decodeIfPresent([String: String].self, forKey: .headers) ?? [:]
        maxAttempts = try c.decodeIfPresent(Int.self, forKey: .maxAttempts) ?? defaults.maxAttempts
        retryDelaySeconds = try c.decodeIfPresent(Double.self, forKey: .retryDelaySeconds) ?? defaults.retryDelaySeconds
        maxRetryDelaySeconds =
            try c.decodeIfPresent(Double.self, forKey: .maxRetryDelaySeconds) ?? defaults.maxRetryDelaySeconds
        timeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .timeoutSeconds) ?? defaults.timeoutSeconds
        caFile = try c.decodeIfPresent(String.self, forKey: .caFile)
        do {
            _ = try DeviceID(validating: name)
        } catch {
            throw DecodingError.dataCorruptedError(forKey: .name, in: c, debugDescription: "sink name \(error.reason)")
        }
        guard let parts = URLComponents(string: url), let scheme = parts.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = parts.host, !host.isEmpty
        else {
            throw DecodingError.dataCorruptedError(
                forKey: .url, in: c, debugDescription: "expected an http:// or https:// URL with a host")
        }
        do throws(ValidationError) {
            _ = try IPAddress.connectableHost(host, port: parts.port ?? Self.defaultPort(scheme: scheme))
        } catch {
            throw DecodingError.dataCorruptedError(forKey: .url, in: c, debugDescription: error.reason)
        }
        guard !topics.isEmpty else {
            throw DecodingError.dataCorruptedError(
                forKey: .topics, in: c, debugDescription: "expected at least one topic pattern, e.g. \"scan.>\"")
        }
        for (index, topic) in topics.enumerated() {
            do {
                _ = try TopicPattern(validating: topic)
            } catch {
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: c.codingPath + [CodingKeys.topics, AnyIndexKey(index)],
                        debugDescription: "\(error)"))
            }
        }
        for name in headers.keys
        where name.isEmpty || !name.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: ":") }) {
            throw DecodingError.dataCorruptedError(
                forKey: .headers, in: c, debugDescription: "header name \"\(name)\" is not a valid HTTP header name")
        }
        if let (name, _) = headers.first(where: { $0.value.utf8.contains(where: { $0 == 10 || $0 == 13 }) }) {
            throw DecodingError.dataCorruptedError(
                forKey: .headers, in: c, debugDescription: "the value of header \"\(name)\" contains a line break")
        }
        for (key, value, low) in [
            (CodingKeys.maxAttempts, Double(maxAttempts), 1.0), (.retryDelaySeconds, retryDelaySeconds, 0.01),
            (.maxRetryDelaySeconds, maxRetryDelaySeconds, retryDelaySeconds), (.timeoutSeconds, timeoutSeconds, 0.1),
        ] where !(value >= low) {
            throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "expected at least \(low)")
        }
    }

    /// The port of an `http` or `https` URL that names none.
    package static func defaultPort(scheme: String) -> Int { scheme.lowercased() == "https" ? 443 : 80 }

    /// The URL as it may be shown or logged: no user, password or query (they may hold secrets).
    package var displayURL: String {
        guard var parts = URLComponents(string: url) else { return "(invalid URL)" }
        parts.user = nil
        parts.password = nil
        parts.query = nil
        parts.fragment = nil
        return parts.string ?? "(invalid URL)"
    }
}

private struct AnyIndexKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(_ index: Int) {
        stringValue = "Index \(index)"
        intValue = index
    }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.init(intValue) }
}
