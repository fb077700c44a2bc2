import Foundation
import HubCore
import Hummingbird
import NIOCore

/// Checks a request's bearer token, and its role, for the REST routes.
///
/// Refusals count against the peer's address in the throttle the bus endpoint shares; once an address has too many,
/// its refused tokens are answered 429 for a while, so guesses are visible and cheap. A good token is always taken:
/// the throttle never locks out the holders of valid tokens who share an address with a guesser.
struct RouteAuthorizer: Sendable {
    let tokens: TokenStore
    let throttle: AuthThrottle
    /// Told when a token is accepted on a connection, which then no longer counts as unauthenticated.
    let connections: ConnectionLimiter

    /// The principal of the request's token, whatever its role.
    func principal(_ request: Request, _ context: HubRequestContext) throws -> Principal {
        guard let header = request.headers[.authorization] else {
            throw HTTPError(.unauthorized, message: "missing Authorization: Bearer <token> header")
        }
        if let token = Self.bearerToken(header), let principal = tokens.authenticate(token: token) {
            connections.authenticated(context.connection)
            return principal
        }
        let address = AuthThrottle.address(context.remoteAddress)
        let wait = throttle.blocked(address)
        throttle.recordFailure(address)
        if let wait {
            throw HTTPError(
                .tooManyRequests, headers: [.retryAfter: "\(wait.components.seconds + 1)"],
                message: "too many refused tokens from this address; try again in \(wait.components.seconds + 1) s")
        }
        throw HTTPError(.unauthorized, message: "token not accepted")
    }

    /// Like `principal(_:_:)`, and the token's role must be one of `roles` (403 otherwise).
    func principal(_ request: Request, _ context: HubRequestContext, roles: Set<Role>) throws -> Principal {
        let principal = try principal(request, context)
        guard roles.contains(principal.role) else {
            throw HTTPError(.forbidden, message: "a \(principal.description) may not do this")
        }
        return principal
    }

    /// The token of an `Authorization: Bearer <token>` header, or nil for another scheme.
    static func bearerToken(_ header: String) -> String? {
        guard header.hasPrefix("Bearer ") else { return nil }
        return String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
    }
}

extension HubRequestContext {
    /// The route's `:id` parameter as a device id (400 naming it when it is not one).
    func deviceParameter() throws -> DeviceID {
        try PathValue.name("id", of: self)
    }
}

extension Response {
    /// 200 with `value` as JSON.
    static func json(_ value: JSONValue) -> Response {
        json(bytes: value.jsonBytes)
    }

    /// 200 with bytes that are already JSON.
    static func json(bytes: [UInt8]) -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// 200 with a JPEG picture that no cache keeps (pictures of a live camera).
    static func jpeg(_ bytes: [UInt8]) -> Response {
        Response(
            status: .ok, headers: [.contentType: "image/jpeg", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
