import Testing

@testable import Server

@Suite struct ConnectionLimiterTests {
    /// Distinct identities for connections that are not real channels.
    final class Connection {}

    @Test func unauthenticatedConnectionsAreCappedPerAddressAndATokenFreesTheirPlace() {
        let limiter = ConnectionLimiter(limits: .init(perAddress: 10, unauthenticatedPerAddress: 2))
        let connections = (0..<4).map { _ in Connection() }
        let ids = connections.map { ObjectIdentifier($0) }
        #expect(limiter.admit(ids[0], address: "10.0.0.1") == nil)
        #expect(limiter.admit(ids[1], address: "10.0.0.1") == nil)
        #expect(limiter.admit(ids[2], address: "10.0.0.1") == .unauthenticatedFromAddress)
        #expect(limiter.admit(ids[2], address: "10.0.0.2") == nil)
        limiter.authenticated(ids[0])
        #expect(limiter.admit(ids[3], address: "10.0.0.1") == nil)
        #expect(limiter.counts.open == 4 && limiter.counts.unauthenticated == 3)
        for id in ids { limiter.release(id) }
        #expect(limiter.counts.open == 0 && limiter.counts.unauthenticated == 0)
    }

    @Test func authenticatedConnectionsStillCountAgainstThePerAddressCap() {
        let limiter = ConnectionLimiter(limits: .init(perAddress: 2, unauthenticatedPerAddress: 2))
        let connections = (0..<3).map { _ in Connection() }
        let ids = connections.map { ObjectIdentifier($0) }
        for id in ids.prefix(2) {
            #expect(limiter.admit(id, address: "10.0.0.1") == nil)
            limiter.authenticated(id)
        }
        #expect(limiter.admit(ids[2], address: "10.0.0.1") == .addressFull)
        limiter.release(ids[0])
        #expect(limiter.admit(ids[2], address: "10.0.0.1") == nil)
    }

    @Test func unauthenticatedConnectionsAreCappedInAll() {
        let limiter = ConnectionLimiter(limits: .init(unauthenticatedPerAddress: 5, unauthenticatedTotal: 3))
        let connections = (0..<4).map { _ in Connection() }
        let refusals = connections.enumerated().map { index, connection in
            limiter.admit(ObjectIdentifier(connection), address: "10.0.1.\(index)")
        }
        #expect(refusals == [nil, nil, nil, .unauthenticatedTotal])
    }

    @Test func aRequestHeadIsRecordedOnlyForCountedConnections() {
        let limiter = ConnectionLimiter()
        let counted = Connection()
        let other = Connection()
        _ = limiter.admit(ObjectIdentifier(counted), address: "10.0.0.1")
        #expect(!limiter.hasRequested(ObjectIdentifier(counted)))
        limiter.requested(ObjectIdentifier(counted))
        limiter.requested(ObjectIdentifier(other))
        #expect(limiter.hasRequested(ObjectIdentifier(counted)))
        #expect(!limiter.hasRequested(ObjectIdentifier(other)))
    }
}
