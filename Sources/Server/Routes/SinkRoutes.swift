import HubCore
import Hummingbird
import Logging

/// The webhook sinks as the server shows and manages them; the hub's sinks provide it.
package protocol SinkProvider: Sendable {
    /// Every sink's state, cursor and newest dead letters (a JSON object with a `sinks` array).
    func sinkStatus() -> JSONValue
    /// Queues the sink's dead letters to be sent again, oldest first, before new events: how many there were, nil
    /// for no such sink.
    func resendDeadLetters(of sink: String) throws -> Int?
    /// Deletes the sink's dead letters: how many there were, nil for no such sink.
    func discardDeadLetters(of sink: String) throws -> Int?
}

/// /api/v1/sinks: the webhook sinks' state and their dead letters.
///
/// Staff may have dead letters sent again once the service is fixed; only an admin may throw them away.
struct SinkRoutes: Sendable {
    let sinks: any SinkProvider
    let authorizer: RouteAuthorizer
    let logger: Logger

    var routes: RouteCollection<HubRequestContext> {
        RouteCollection(context: HubRequestContext.self)
            .get(use: status)
            .post(":name/dead-letters/resend", use: resend)
            .delete(":name/dead-letters", use: discard)
    }

    @Sendable func status(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        _ = try authorizer.principal(request, context, roles: [.admin, .staff])
        return .json(sinks.sinkStatus())
    }

    @Sendable func resend(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let principal = try authorizer.principal(request, context, roles: [.admin, .staff])
        let name = try PathValue.name("name", of: context).rawValue
        guard let count = try sinks.resendDeadLetters(of: name) else { throw Self.noSink(name) }
        logger.notice("sink \(name): \(count) dead letters to send again, asked by a \(principal.description)")
        return .json(.object(["sink": .string(name), "resending": .int(Int64(count))]))
    }

    @Sendable func discard(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        _ = try authorizer.principal(request, context, roles: [.admin])
        let name = try PathValue.name("name", of: context).rawValue
        guard let count = try sinks.discardDeadLetters(of: name) else { throw Self.noSink(name) }
        return .json(.object(["sink": .string(name), "deleted": .int(Int64(count))]))
    }

    private static func noSink(_ name: String) -> HTTPError {
        HTTPError(.notFound, message: "no sink named '\(name)'")
    }
}
