/// GS1 trade item numbers: the check digit rule every GTIN, SSCC and GLN shares.
package enum GTIN {
    /// Whether the last digit of `digits` is the GS1 mod-10 check digit of the others.
    package static func hasValidCheckDigit(_ digits: String) -> Bool {
        let values = digits.utf8.map { Int($0) - 48 }
        guard values.count >= 2, values.allSatisfy({ (0...9).contains($0) }) else { return false }
        var sum = 0
        // Weights 3,1,3,... from the rightmost digit before the check digit.
        for (offset, value) in values.dropLast().reversed().enumerated() {
            sum += value * (offset % 2 == 0 ? 3 : 1)
        }
        return (10 - sum % 10) % 10 == values.last!
    }
}
