import Hummingbird
import PixEcomProtos
import RPCKit
import ServiceKit

extension EdgeRoutes {
    /// Insights ingestion and per-campaign daily stats.
    func addStats(to router: Router<EdgeRequestContext>) {
        let stats = self.clients.stats
        let forwarder = self.forwarder

        router.post("/v1/insights") { request, context in
            try await forwarder.forward(
                stats, StatsMethods.ingestInsights, Pixecom_Stats_V1_IngestInsightsRequest.self, request, context: context,
                as: Pixecom_Stats_V1_IngestInsightsResponse.self
            )
        }
        router.get("/v1/campaigns/:id/stats") { request, context in
            var message = Pixecom_Stats_V1_GetCampaignStatsRequest()
            message.campaignID = try context.parameters.require("id")
            message.since = request.query("since")
            message.until = request.query("until")
            let reply = try await forwarder.call(
                stats, StatsMethods.getCampaignStats, message, as: Pixecom_Stats_V1_CampaignStats.self, http: request, context: context)
            return try forwarder.json(reply)
        }
    }
}
