import HubCore
import Hummingbird
import NIOCore

/// The hub's measurements in the Prometheus text format; the hub's metrics provide it.
package protocol MetricsProvider: Sendable {
    /// The Prometheus text exposition (format 0.0.4) of every metric, rendered now.
    func prometheusText() -> String
}

/// GET /metrics for Prometheus. Any role may read it: Prometheus scrapes with a service token (bearer_token in its
/// scrape config).
struct MetricsRoutes: Sendable {
    let metrics: any MetricsProvider
    let authorizer: RouteAuthorizer

    var routes: RouteCollection<HubRequestContext> {
        RouteCollection(context: HubRequestContext.self)
            .get("/metrics", use: scrape)
    }

    @Sendable func scrape(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        _ = try authorizer.principal(request, context, roles: [.admin, .staff, .service])
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.prometheusText())))
    }
}
