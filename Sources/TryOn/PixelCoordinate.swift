extension Float {
    /// This coordinate as a whole pixel in `range`, rounded by `rule`: values beyond the range (and NaN, taken as
    /// its lower end) are clamped first, so a wild landmark cannot trap the conversion.
    func pixel(in range: ClosedRange<Int>, rounded rule: FloatingPointRoundingRule = .towardZero) -> Int {
        guard !isNaN else { return range.lowerBound }
        let clamped = Swift.min(Swift.max(self, Float(range.lowerBound)), Float(range.upperBound))
        return Swift.min(Swift.max(Int(clamped.rounded(rule)), range.lowerBound), range.upperBound)
    }
}
