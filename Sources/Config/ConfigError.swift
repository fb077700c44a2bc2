import Foundation

/// A configuration file that cannot be used: which file, where in it, and what was expected.
package struct ConfigError: Error, Sendable, CustomStringConvertible {
    package var file: String
    /// Dotted path to the offending value, e.g. `camera.fps` or `decoder.symbologies[2]`; empty for the whole file.
    package var keyPath: String
    package var problem: String

    package init(file: String, keyPath: String, problem: String) {
        self.file = file
        self.keyPath = keyPath
        self.problem = problem
    }

    package var description: String {
        keyPath.isEmpty ? "\(file): \(problem)" : "\(file): at \(keyPath): \(problem)"
    }
}

/// Decodes JSON configuration files into values and turns every decoding failure into a ConfigError.
package enum ConfigFile {
    /// Reads and decodes `url`; the error names the file, the key path and what was expected.
    package static func load<T: Decodable>(_ type: T.Type, from url: URL, displayPath: String? = nil)
        throws(ConfigError)
        -> T
    {
        let name = displayPath ?? url.path
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ConfigError(file: name, keyPath: "", problem: "cannot be read (\(reason(of: error)))")
        }
        return try decode(type, from: data, file: name)
    }

    /// Decodes `data`; `file` names it in errors.
    package static func decode<T: Decodable>(_ type: T.Type, from data: Data, file: String) throws(ConfigError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            throw ConfigError(decoding: error, file: file)
        } catch {
            throw ConfigError(file: file, keyPath: "", problem: "\(error)")
        }
    }

    private static func reason(of error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain
        {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if nsError.domain == NSCocoaErrorDomain && nsError.code == NSFileReadNoSuchFileError { return "no such file" }
        return nsError.localizedDescription
    }
}

extension ConfigError {
    init(decoding error: DecodingError, file: String) {
        func path(_ keys: [any CodingKey]) -> String {
            var text = ""
            for key in keys {
                if let index = key.intValue {
                    text += "[\(index)]"
                } else {
                    text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
                }
            }
            return text
        }
        switch error {
        case .typeMismatch(let type, let context):
            self.init(file: file, keyPath: path(context.codingPath), problem: "expected \(ConfigError.describe(type))")
        case .valueNotFound(let type, let context):
            self.init(
                file: file, keyPath: path(context.codingPath),
                problem: "expected \(ConfigError.describe(type)), found null")
        case .keyNotFound(let key, let context):
            self.init(file: file, keyPath: path(context.codingPath + [key]), problem: "required key is missing")
        case .dataCorrupted(let context):
            let underlying = (context.underlyingError as NSError?)?.userInfo["NSDebugDescription"] as? String
            let problem =
                context.codingPath.isEmpty
                ? "is not valid JSON (\(underlying ?? context.debugDescription))"
                : context.debugDescription
            self.init(file: file, keyPath: path(context.codingPath), problem: problem)
        @unknown default:
            self.init(file: file, keyPath: "", problem: "\(error)")
        }
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type, is UInt16.Type, is Int64.Type, is UInt64.Type: return "an integer"
        case is Double.Type: return "a number"
        case is Bool.Type: return "true or false"
        default:
            let name = "\(type)"
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return "a value of type \(name)"
        }
    }
}

/// A coding key that accepts any name, to see which keys a JSON object really holds.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension Decoder {
    /// Refuses keys the type does not know, so a misspelt setting is an error and not a silent default.
    func rejectUnknownKeys(allowed: [String]) throws {
        let container = try container(keyedBy: AnyKey.self)
        for key in container.allKeys where !allowed.contains(key.stringValue) {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: codingPath + [key],
                    debugDescription: "unknown key (known keys: \(allowed.sorted().joined(separator: ", ")))"))
        }
    }
}
