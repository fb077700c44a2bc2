/// `data` of an event on `display.<device>`: what a service wants a kiosk's screen to show, usually the answer to
/// a scan.
///
/// Checked once, where events enter the hub (a bus `publish`, `POST /api/v1/events`): `init(validating:)` refuses
/// an unknown field, a wrong type, text with control characters or beyond its length, and names the field.
package struct DisplayMessage: Sendable, Equatable {
    /// How the screen colours the answer.
    package enum State: String, Sendable, CaseIterable {
        case ok, warning, error, info
    }

    package var state: State
    package var title: DisplayText
    package var body: DisplayText?
    /// Lines listed under the body (the order's items), at most `maxItems`.
    package var items: [DisplayText]
    /// Text the screen shows as a QR code, e.g. a receipt link.
    package var qr: String?
    /// How long the screen shows the message before it goes back to idle.
    package var ttlSeconds: Int
    /// The sequence of the scan this message answers, when it answers one.
    package var answers: UInt64?

    package static let maxTitle = 120
    package static let maxBody = 600
    package static let maxItem = 120
    package static let maxItems = 20
    package static let maxQR = 512
    package static let ttlRange = 1...600
    package static let defaultTTL = 8
    /// Largest `data` of a display event, as JSON.
    package static let maxBytes = 16 * 1024

    static let fields: Set<String> = ["state", "title", "body", "items", "qr", "ttlSeconds", "answers"]

    /// Checks `data`; the error names the field (`data.items[2].fr`) and what is wrong with it.
    package init(validating data: JSONValue?) throws(ValidationError) {
        guard let data, case .object(let object) = data else {
            throw ValidationError("data: a display message must be a JSON object")
        }
        if data.jsonBytes.count > Self.maxBytes {
            throw ValidationError("data: a display message may be at most \(Self.maxBytes) bytes of JSON")
        }
        if let unknown = object.keys.sorted().first(where: { !Self.fields.contains($0) }) {
            throw ValidationError(
                "data.\(unknown.prefix(40)): unknown field (known: \(Self.fields.sorted().joined(separator: ", ")))")
        }
        guard let stateText = object["state"]?.stringValue, let state = State(rawValue: stateText) else {
            throw ValidationError("data.state: must be one of ok, warning, error, info")
        }
        self.state = state
        guard let title = object["title"] else { throw ValidationError("data.title: missing") }
        self.title = try DisplayText(validating: title, field: "data.title", maxLength: Self.maxTitle)
        body = try object["body"].flatMap { value throws(ValidationError) in
            value == .null ? nil : try DisplayText(validating: value, field: "data.body", maxLength: Self.maxBody)
        }
        items = []
        if let value = object["items"], value != .null {
            guard case .array(let list) = value, list.count <= Self.maxItems else {
                throw ValidationError("data.items: must be an array of at most \(Self.maxItems) texts")
            }
            for (index, item) in list.enumerated() {
                items.append(try DisplayText(validating: item, field: "data.items[\(index)]", maxLength: Self.maxItem))
            }
        }
        qr = nil
        if let value = object["qr"], value != .null {
            guard let text = value.stringValue, (1...Self.maxQR).contains(text.utf8.count),
                !DisplayText.hasControlCharacters(text, allowNewlines: false)
            else {
                throw ValidationError("data.qr: must be 1 to \(Self.maxQR) bytes of text without control characters")
            }
            qr = text
        }
        ttlSeconds = Self.defaultTTL
        if let value = object["ttlSeconds"], value != .null {
            guard let number = value.intValue, Self.ttlRange.contains(Int(clamping: number)) else {
                throw ValidationError(
                    "data.ttlSeconds: must be a whole number from \(Self.ttlRange.lowerBound) to \(Self.ttlRange.upperBound)"
                )
            }
            ttlSeconds = Int(number)
        }
        answers = nil
        if let value = object["answers"], value != .null {
            guard let number = value.intValue, number >= 1 else {
                throw ValidationError("data.answers: must be the sequence (a whole number ≥ 1) of the scan answered")
            }
            answers = UInt64(number)
        }
    }
}

/// A text on a customer screen: one plain string, or one per language (`{"en": "Ready", "fr": "Prête"}`) from
/// which the screen picks its own language.
package enum DisplayText: Sendable, Equatable {
    case plain(String)
    case translated([String: String])

    /// Languages one translated text may carry.
    package static let maxLanguages = 16

    /// Checks a text field; `field` names it in the error. Newlines are allowed in long texts (over 200 bytes),
    /// no other control characters anywhere.
    package init(validating value: JSONValue, field: String, maxLength: Int) throws(ValidationError) {
        let allowNewlines = maxLength > 200
        switch value {
        case .string(let text):
            try Self.check(text, field: field, maxLength: maxLength, allowNewlines: allowNewlines)
            self = .plain(text)
        case .object(let translations):
            guard (1...Self.maxLanguages).contains(translations.count) else {
                throw ValidationError("\(field): must hold 1 to \(Self.maxLanguages) languages")
            }
            var texts: [String: String] = [:]
            for language in translations.keys.sorted() {
                guard Self.isLanguageTag(language) else {
                    throw ValidationError(
                        "\(field).\(language.prefix(20)): not a language tag (like en, fr, pt-BR, zh-Hant)")
                }
                guard let text = translations[language]?.stringValue else {
                    throw ValidationError("\(field).\(language): must be a string")
                }
                try Self.check(text, field: "\(field).\(language)", maxLength: maxLength, allowNewlines: allowNewlines)
                texts[language] = text
            }
            self = .translated(texts)
        default:
            throw ValidationError("\(field): must be a string or an object of strings by language")
        }
    }

    private static func check(_ text: String, field: String, maxLength: Int, allowNewlines: Bool)
        throws(ValidationError)
    {
        guard !text.isEmpty, text.unicodeScalars.count <= maxLength else {
            throw ValidationError("\(field): must be 1 to \(maxLength) characters")
        }
        if hasControlCharacters(text, allowNewlines: allowNewlines) {
            throw ValidationError(
                "\(field): control characters are not allowed\(allowNewlines ? " (except newlines)" : "")")
        }
    }

    /// C0 and C1 controls, DEL, and the bidirectional overrides that could make a text read as something else.
    static func hasControlCharacters(_ text: String, allowNewlines: Bool) -> Bool {
        text.unicodeScalars.contains { scalar in
            let value = scalar.value
            if value == 0x0A { return !allowNewlines }
            return value < 0x20 || (0x7F...0x9F).contains(value) || (0x202A...0x202E).contains(value)
                || (0x2066...0x2069).contains(value)
        }
    }

    /// A BCP 47 tag as screens use them: a 2-3 letter language, then up to two 2-8 character subtags.
    static func isLanguageTag(_ tag: String) -> Bool {
        let parts = tag.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...3).contains(parts.count), let language = parts.first,
            (2...3).contains(language.count), language.allSatisfy({ $0.isASCII && $0.isLowercase })
        else { return false }
        return parts.dropFirst().allSatisfy { part in
            (2...8).contains(part.count) && part.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
        }
    }
}

extension Topic {
    /// Where services send what a device's screen shows.
    package static func display(_ device: DeviceID) -> String { "display.\(device)" }

    /// Checks an event's `data` against what its topic requires (only `display.*` has a schema); returns the
    /// display message for display topics.
    package static func validateData(_ data: JSONValue?, topic: String) throws(ValidationError) -> DisplayMessage? {
        guard topic.hasPrefix("display.") else { return nil }
        let segments = topic.split(separator: ".", omittingEmptySubsequences: false)
        guard segments.count == 2, (try? DeviceID(validating: String(segments[1]))) != nil else {
            throw ValidationError("topic: display topics are display.<device>, one device id")
        }
        return try DisplayMessage(validating: data)
    }
}
