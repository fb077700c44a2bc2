import Foundation

/// Names what a scan is (`pickup-order`, `product`, ...) from configured rules, so services can route it.
///
/// Rules are tried in order; the first whose symbologies (if given) include the symbol's and whose pattern
/// (if given) is found in the payload text wins. A pattern is searched, not matched whole: anchor it with
/// `^...$` to match the whole payload.
package struct ScanClassifier: Sendable {
    /// One named rule.
    package struct Rule: Sendable {
        /// The class name carried in scan events.
        package var name: String
        /// Symbologies the rule is limited to; nil for any.
        package var symbologies: Set<Symbology>?
        /// The pattern's source, for messages.
        package var patternSource: String?
        let pattern: NSRegularExpression?

        /// Throws a ClassifierError naming what is wrong (`field` says which part) for an invalid pattern or name.
        package init(name: String, pattern: String?, symbologies: [String]?) throws(ClassifierError) {
            guard !name.isEmpty else { throw ClassifierError(field: "name", message: "expected a non-empty name") }
            guard pattern != nil || symbologies != nil else {
                throw ClassifierError(field: "", message: "a class needs a pattern, symbologies or both")
            }
            self.name = name
            if let symbologies {
                guard !symbologies.isEmpty else {
                    throw ClassifierError(field: "symbologies", message: "expected at least one symbology")
                }
                var set = Set<Symbology>()
                for (index, symbology) in symbologies.enumerated() {
                    guard let known = Symbology(rawValue: symbology) else {
                        throw ClassifierError(
                            field: "symbologies[\(index)]", message: SymbologyError(name: symbology).description)
                    }
                    set.insert(known)
                }
                self.symbologies = set
            }
            patternSource = pattern
            if let pattern {
                do {
                    self.pattern = try NSRegularExpression(pattern: pattern)
                } catch {
                    throw ClassifierError(field: "pattern", message: "'\(pattern)' is not a valid regular expression")
                }
            } else {
                self.pattern = nil
            }
        }

        func matches(_ symbology: Symbology, _ text: String) -> Bool {
            if let symbologies, !symbologies.contains(symbology) { return false }
            guard let pattern else { return true }
            return pattern.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
        }
    }

    /// Tried in order.
    package var rules: [Rule]

    package init(rules: [Rule] = []) {
        self.rules = rules
    }

    /// The first matching rule's name, or nil.
    package func classify(symbology: Symbology, text: String) -> String? {
        rules.first { $0.matches(symbology, text) }?.name
    }

    /// The class of a scan whose symbology is a name, as scanners report them (`gs1-128`, `unknown`, ...): a rule
    /// with symbologies matches when one of them has that name.
    package func classify(symbologyName: String, text: String) -> String? {
        rules.first { rule in
            if let symbologies = rule.symbologies, !symbologies.contains(where: { $0.rawValue == symbologyName }) {
                return false
            }
            guard let pattern = rule.pattern else { return true }
            return pattern.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
        }?.name
    }

    /// The class of a decoded symbol.
    package func classify(_ symbol: DecodedSymbol) -> String? {
        classify(symbology: symbol.symbology, text: symbol.text)
    }
}

/// A class rule that cannot be used; `field` is the rule's key that is wrong (empty for the rule as a whole).
package struct ClassifierError: Error, Sendable, CustomStringConvertible {
    /// The rule key that is wrong.
    package var field: String
    /// What is wrong.
    package var message: String
    package var description: String { message }
}
