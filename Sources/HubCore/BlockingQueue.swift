import Dispatch

extension DispatchQueue {
    /// Runs blocking work (driver ioctls, port reads) on this serial queue, off the cooperative thread pool, and
    /// hands its result or error back to the awaiting task. Device classes keep one queue each, so their calls
    /// stay in order.
    package func run<T: Sendable, Failure: Error>(_ body: @escaping @Sendable () throws(Failure) -> T) async throws -> T
    {
        try await withCheckedThrowingContinuation { continuation in
            async {
                do {
                    continuation.resume(returning: try body())
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}
