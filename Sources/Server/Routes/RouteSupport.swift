import Foundation
import HubCore
import Hummingbird
import NIOCore

/// Checks a request's bearer token, and its role, for the REST routes.
///
/// Refusals count against the peer's address in the throttle the bus endpoint shares; an address with too many is
/// refused outright for a while (429), so tokens cannot be guessed at speed.
struct RouteAuthorizer: Sendable {
    let tokens: TokenStore
    let throttle: AuthThrottle

    /// The principal of the request's token, whatever its role.
    func principal(_ request: Request, _ context: HubRequestContext) throws -> Principal {
        let address = AuthThrottle.address(context.remoteAddress)
        if let wait = throttle.blocked(address) {
            throw HTTPError(
                .tooManyRequests, headers: [.retryAfter: "\(wait.components.seconds + 1)"],
                message: "too many refused tokens from this address; try again in \(wait.components.seconds + 1) s")
        }
        guard let header = request.headers[.authorization] else {
            throw HTTPError(.unauthorized, message: "missing Authorization: Bearer <token> header")
        }
        guard let token = Self.bearerToken(header), let principal = tokens.authenticate(token: token) else {
            throttle.recordFailure(address)
            throw HTTPError(.unauthorized, message: "token not accepted")
        }
        return principal
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
    /// The route's `:id` parameter as a device id (400 when it is not one).
    func deviceParameter() throws -> DeviceID {
        guard let text = parameters.get("id"), let device = try? DeviceID(validating: text) else {
            throw HTTPError(.badRequest, message: "not a device id")
        }
        return device
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
