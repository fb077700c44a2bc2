import Foundation

/// A customer screen's settings: the `screen` section of a kiosk's or a mirror's descriptor.
package struct ScreenSettings: Sendable, Decodable, Equatable {
    /// The languages the screen offers, as i18n file names (`en`, `zh-Hans`); the first is the default.
    package var languages: [String]
    /// Mirrors: a regular expression a member QR code's text matches. Such a code held up to the mirror links the
    /// visit to that shopper's account (later try-on results carry it as `member`); nil: no linking.
    package var memberPattern: String?
    /// Kiosks: how long the screen waits for the order service's answer to a scan before it tells the customer to
    /// ask at the counter (and, for a signed pickup code, what the hub's own verdict says).
    package var answerTimeoutSeconds: Double

    /// The range `answerTimeoutSeconds` must be in: long enough for a service across the shop's network, short
    /// enough that a customer is not left waiting in front of a screen that says nothing.
    package static let answerTimeoutRange: ClosedRange<Double> = 0.5...30

    package init(languages: [String] = ["en"], memberPattern: String? = nil, answerTimeoutSeconds: Double = 4) {
        self.languages = languages
        self.memberPattern = memberPattern
        self.answerTimeoutSeconds = answerTimeoutSeconds
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case languages, memberPattern, answerTimeoutSeconds }

    package init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(allowed: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        languages = try c.decodeIfPresent([String].self, forKey: .languages) ?? ["en"]
        memberPattern = try c.decodeIfPresent(String.self, forKey: .memberPattern)
        answerTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .answerTimeoutSeconds) ?? 4
        guard Self.answerTimeoutRange.contains(answerTimeoutSeconds) else {
            throw DecodingError.dataCorruptedError(
                forKey: .answerTimeoutSeconds, in: c,
                debugDescription: String(
                    format: "expected %g to %g seconds, found %g", Self.answerTimeoutRange.lowerBound,
                    Self.answerTimeoutRange.upperBound, answerTimeoutSeconds))
        }
        if let memberPattern, memberPattern.isEmpty || (try? NSRegularExpression(pattern: memberPattern)) == nil {
            throw DecodingError.dataCorruptedError(
                forKey: .memberPattern, in: c, debugDescription: "'\(memberPattern)' is not a valid regular expression")
        }
        guard (1...32).contains(languages.count), Set(languages).count == languages.count else {
            throw DecodingError.dataCorruptedError(
                forKey: .languages, in: c, debugDescription: "expected 1 to 32 different languages, the default first")
        }
        if let bad = languages.first(where: { !Self.isLanguageTag($0) }) {
            throw DecodingError.dataCorruptedError(
                forKey: .languages, in: c,
                debugDescription: "'\(bad)' is not a language tag like \"en\", \"fr\" or \"zh-Hans\"")
        }
    }

    /// A BCP 47-like tag of at most 16 characters: 2 or 3 lowercase letters, then `-` and 2 to 8 letters or digits,
    /// repeated. Checked wherever a tag comes in (descriptors, requests), since it also names a file.
    package static func isLanguageTag(_ text: String) -> Bool {
        guard text.utf8.count <= 16 else { return false }
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard let first = parts.first, (2...3).contains(first.utf8.count),
            first.utf8.allSatisfy({ (0x61...0x7a).contains($0) })
        else { return false }
        return parts.dropFirst().allSatisfy { part in
            (2...8).contains(part.utf8.count)
                && part.utf8.allSatisfy {
                    (0x30...0x39).contains($0) || (0x41...0x5a).contains($0) || (0x61...0x7a).contains($0)
                }
        }
    }
}

/// Where the QR code on a mirror screen's share panel leads: the `share` section of the hub config.
package struct ShareSettings: Sendable, Decodable, Equatable {
    /// The sharing service's page for a snapshot, with `{snapshotId}` where the id goes
    /// (`https://share.example/s/{snapshotId}`). A template starting with `/` is a page of the hub itself, made
    /// absolute with the address the screen reached the hub at.
    package var urlTemplate: String

    package static let placeholder = "{snapshotId}"

    package init(urlTemplate: String = "/share/{snapshotId}") {
        self.urlTemplate = urlTemplate
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case urlTemplate }

    package init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(allowed: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        urlTemplate = try c.decodeIfPresent(String.self, forKey: .urlTemplate) ?? ShareSettings().urlTemplate
        let occurrences = urlTemplate.components(separatedBy: Self.placeholder).count - 1
        guard occurrences == 1,
            urlTemplate.hasPrefix("https://") || urlTemplate.hasPrefix("http://") || urlTemplate.hasPrefix("/"),
            urlTemplate.utf8.count <= 400, urlTemplate.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f })
        else {
            throw DecodingError.dataCorruptedError(
                forKey: .urlTemplate, in: c,
                debugDescription:
                    "expected an http(s) URL or a path of the hub, printable ASCII, at most 400 characters, with {snapshotId} once"
            )
        }
    }

    /// The share URL of `snapshotID`; `origin` (`http://host:port`) makes a hub path absolute.
    package func url(for snapshotID: String, origin: String) -> String {
        let filled = urlTemplate.replacingOccurrences(of: Self.placeholder, with: snapshotID)
        return filled.hasPrefix("/") ? origin + filled : filled
    }
}
