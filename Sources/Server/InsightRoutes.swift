import Bus
import EventLog
import Foundation
import HubCore
import Hummingbird

/// `GET /api/v1/insights`: what happened in the shop, by hour, for staff.
extension HubServer {
    /// Longest range one request may cover.
    static let insightsMaxRange: TimeInterval = 92 * 24 * 3600

    /// Registers the insights route.
    func addInsightRoutes(to router: Router<HubRequestContext>) {
        let server = self
        router.get("/api/v1/insights") { request, context -> Response in
            _ = try server.authorize(request, context, roles: [.staff, .admin])
            let query = request.uri.queryParameters
            let now = Date()
            let to = try Self.instant(query.get("to"), name: "to") ?? now
            let from = try Self.instant(query.get("from"), name: "from") ?? to.addingTimeInterval(-24 * 3600)
            guard from < to, to.timeIntervalSince(from) <= Self.insightsMaxRange else {
                throw HTTPError(.badRequest, message: "from must be before to, at most 92 days apart")
            }
            let insights = try server.bus.log.insights(
                fromMs: Int64(from.timeIntervalSince1970 * 1000), toMs: Int64(to.timeIntervalSince1970 * 1000))
            return Self.json(Self.json(insights, from: from, to: to))
        }
    }

    /// An ISO 8601 time (`2026-12-02T10:00:00Z`, fractions allowed), nil when absent.
    static func instant(_ text: String?, name: String) throws -> Date? {
        guard let text else { return nil }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard text.utf8.count <= 40, let date = formatter.date(from: text) ?? fractional.date(from: text),
            date.timeIntervalSince1970 > 0, date.timeIntervalSince1970 < 1e11
        else {
            throw HTTPError(.badRequest, message: "\(name): expected an ISO 8601 time such as 2026-12-02T10:00:00Z")
        }
        return date
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
