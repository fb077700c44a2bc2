import Bus
import EventLog
import Foundation
import HubCore
import Hummingbird

/// `GET /api/v1/insights`: what happened in the shop, by hour, for staff.
struct InsightRoutes: Sendable {
    let bus: Bus
    let authorizer: RouteAuthorizer

    var routes: RouteCollection<HubRequestContext> {
        RouteCollection(context: HubRequestContext.self).get("/api/v1/insights", use: insights)
    }

    /// `from` and `to` (ISO 8601, checked by `InsightsQuery`), by default the last day.
    @Sendable func insights(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        _ = try authorizer.principal(request, context, roles: [.staff, .admin])
        let query = try InsightsQuery(ClientQuery(request))
        let insights = try bus.log.insights(
            fromMs: Int64(query.from.timeIntervalSince1970 * 1000), toMs: Int64(query.to.timeIntervalSince1970 * 1000))
        return .json(Self.json(insights, from: query.from, to: query.to))
    }

    static func json(_ insights: Insights, from: Date, to: Date) -> JSONValue {
        let hours = insights.hours.map { hour -> JSONValue in
            .object([
                "hour": .string(Timestamp.iso8601(Date(timeIntervalSince1970: Double(hour.startMs) / 1000))),
                "scans": .object(
                    hour.scans.mapValues { classes in .object(classes.mapValues { .int(Int64($0)) }) }),
                "pickups": .object([
                    "ok": .int(Int64(hour.pickupsOK)), "refused": .int(Int64(hour.pickupsRefused)),
                    "unanswered": .int(Int64(hour.pickupsUnanswered)),
                ]),
                "mirrorVisits": .int(Int64(hour.mirrorVisits)),
            ])
        }
        let shades = insights.shades.map { shade -> JSONValue in
            .object([
                "sku": .string(shade.sku), "tried": .int(Int64(shade.tried)),
                "medianDwellSeconds": shade.medianDwellSeconds.map { .double(($0 * 10).rounded() / 10) } ?? .null,
                "pictures": .int(Int64(shade.pictures)),
            ])
        }
        return .object([
            "from": .string(Timestamp.iso8601(from)), "to": .string(Timestamp.iso8601(to)),
            "hours": .array(hours), "shades": .array(shades),
        ])
    }
}
