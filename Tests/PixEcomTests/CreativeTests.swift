import Foundation
import PostgresNIO
import RPCKit
import Testing

@testable import CampaignService

/// Ad texts, creatives with their role slots, and ads made from creatives, whose final URL carries
/// the url_tags with the macros expanded to the ad's own ids (what orders are attributed by).
@Suite("Creatives and ad texts", .serialized)
struct CreativeTests {
    typealias Reply = EdgeHTTPClient.Reply

    @Test("url_tags: key=value pairs and the three macros only, each problem named; expanded into the link's query, before a fragment")
    func urlTags() throws {
        let (campaign, adSet, ad) = (UUID(), UUID(), UUID())
        let tags = "utm_source=meta&utm_campaign={{campaign.id}}&utm_term={{adset.id}}&utm_content={{ad.id}}"
        #expect(try URLTags.validate(tags) == tags)
        #expect(
            URLTags.finalURL(link: "https://shop.example.com/p?ref=1#top", tags: tags, campaignID: campaign, adSetID: adSet, adID: ad)
                == "https://shop.example.com/p?ref=1&utm_source=meta&utm_campaign=\(campaign.wireText)&utm_term=\(adSet.wireText)&utm_content=\(ad.wireText)#top"
        )
        #expect(
            URLTags.finalURL(link: "https://shop.example.com/", tags: "a=b", campaignID: campaign, adSetID: adSet, adID: ad)
                == "https://shop.example.com/?a=b")
        #expect(
            URLTags.finalURL(link: "https://shop.example.com/", tags: "", campaignID: campaign, adSetID: adSet, adID: ad)
                == "https://shop.example.com/")
        func refusal(_ tags: String) -> String {
            do {
                _ = try URLTags.validate(tags)
                return "accepted"
            } catch let error as RPCError {
                return error.fieldViolations.map { "\($0.field): \($0.description)" }.joined()
            } catch {
                return "\(error)"
            }
        }
        #expect(refusal("utm_content={{ad.name}}").hasPrefix("url_tags: has the unknown macro {{ad.name}}"))
        #expect(refusal("utm_content={{ad.id").contains("without its closing }}"))
        #expect(refusal("utm_content=ad.id}}").contains("without its opening {{"))
        #expect(refusal("utm_source").contains("not a key=value pair"))
        #expect(refusal("utm source=x").contains("keys are letters"))
        #expect(refusal("a=b c").contains("a space"))
        #expect(refusal("a=b&&c=d").contains("not a key=value pair"))
    }

    @Test(
        "through the edge: ad texts with variants, creatives whose slots hold assets of the right type, ads from creatives with their final URL, and what is in use is not deleted"
    )
    func creativesThroughTheEdge() async throws {
        let system = try await PixEcomSystem.start()
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            let token = try await EndToEndTests.register(edge, name: "Creatives").token
            func asset(_ name: String, _ bytes: Data) async throws -> String {
                let reply = try await AssetTests.upload(edge, "/v1/assets?name=\(name)", bytes, token: token)
                try #require(reply.status == 200, "\(reply.text)")
                return JSONValues.string(reply.json["id"])
            }
            let image = try await asset("square.png", AssetFixtures.png(width: 1080, height: 1080, salt: "square"))
            let thumbnail = try await asset("thumb.jpg", AssetFixtures.jpeg(width: 1280, height: 720))
            let video = try await asset("clip.mp4", AssetFixtures.mp4(size: 4096))

            // Ad texts: variants bounded, a known call to action.
            let text = try await edge.send(
                .POST, "/v1/ad-texts",
                json: [
                    "name": "Summer", "primaryTexts": ["Summer sale: 20% off everything", "Last day of the sale"],
                    "headlines": ["20% off"], "descriptions": ["Free shipping"], "callToAction": "SHOP_NOW",
                ], token: token)
            try #require(text.status == 200, "\(text.text)")
            #expect((text.json["primaryTexts"] as? [String])?.count == 2 && JSONValues.string(text.json["callToAction"]) == "SHOP_NOW")
            let textID = JSONValues.string(text.json["id"])
            CampaignShapeTests.expectRefused(
                try await edge.send(.POST, "/v1/ad-texts", json: ["name": "Empty", "primaryTexts": [String]()], token: token), 400,
                field: "primary_texts", "no primary text")
            CampaignShapeTests.expectRefused(
                try await edge.send(
                    .POST, "/v1/ad-texts", json: ["name": "Many", "primaryTexts": ["a"], "headlines": ["1", "2", "3", "4", "5", "6"]],
                    token: token), 400, field: "headlines", "six headlines")
            CampaignShapeTests.expectRefused(
                try await edge.send(
                    .POST, "/v1/ad-texts", json: ["name": "Odd", "primaryTexts": ["a"], "callToAction": "CLICK_ME"], token: token),
                400, field: "call_to_action", "an unknown call to action")

            // Creatives: each format's slots, of the right type.
            let tags = "utm_source=meta&utm_campaign={{campaign.id}}&utm_content={{ad.id}}"
            func creative(_ body: [String: Any]) async throws -> Reply {
                var full: [String: Any] = ["name": "C", "linkUrl": "https://shop.example.com/p?ref=1"]
                full.merge(body) { $1 }
                return try await edge.send(.POST, "/v1/creatives", json: full, token: token)
            }
            let single = try await creative(["format": "SINGLE_IMAGE", "imageAssetId": image, "adTextId": textID, "urlTags": tags])
            try #require(single.status == 200, "\(single.text)")
            let creativeID = JSONValues.string(single.json["id"])
            #expect(JSONValues.string(single.json["urlTags"]) == tags && JSONValues.string(single.json["adTextId"]) == textID)
            let carousel = try await creative([
                "format": "CAROUSEL",
                "cards": [
                    ["imageAssetId": image, "headline": "One"],
                    ["videoAssetId": video, "thumbnailAssetId": thumbnail, "linkUrl": "https://shop.example.com/two"],
                ],
            ])
            #expect(carousel.status == 200 && (carousel.json["cards"] as? [Any])?.count == 2, "\(carousel.text)")
            let videoCreative = try await creative(["format": "SINGLE_VIDEO", "videoAssetId": video, "thumbnailAssetId": thumbnail])
            #expect(videoCreative.status == 200, "\(videoCreative.text)")

            CampaignShapeTests.expectRefused(
                try await creative(["format": "CAROUSEL", "cards": [["imageAssetId": image]]]), 400, field: "cards",
                "a carousel of one card")
            CampaignShapeTests.expectRefused(
                try await creative(["format": "SINGLE_VIDEO", "videoAssetId": video]), 400, field: "thumbnail_asset_id",
                "a video without its thumbnail")
            let wrongType = try await creative(["format": "SINGLE_IMAGE", "imageAssetId": video])
            CampaignShapeTests.expectRefused(wrongType, 400, field: "image_asset_id", "a video in the image slot")
            #expect(wrongType.text.contains("a VIDEO") && wrongType.text.contains("needs an image"), "\(wrongType.text)")
            CampaignShapeTests.expectRefused(
                try await creative(["format": "SINGLE_IMAGE", "imageAssetId": image, "urlTags": "utm_content={{ad.name}}"]), 400,
                field: "url_tags", "an unknown macro")
            CampaignShapeTests.expectRefused(
                try await creative(["format": "SINGLE_IMAGE", "imageAssetId": image, "videoAssetId": video]), 400, field: "video_asset_id",
                "a slot the format does not use")
            let missing = try await creative(["format": "SINGLE_IMAGE", "imageAssetId": UUID().uuidString.lowercased()])
            #expect(missing.status == 404 && missing.text.contains("asset"), "\(missing.text)")
            let listed = try await edge.send(.GET, "/v1/creatives", token: token)
            #expect((listed.json["creatives"] as? [Any])?.count == 3, "only what was accepted: \(listed.text)")

            // An ad from the creative: its link and url_tags, the macros expanded to the ad's ids.
            let account = try await EndToEndTests.create(
                edge, "/v1/ad-accounts", ["name": "A", "currency": "USD", "timeZone": "UTC"], token: token)
            let campaign = try await EndToEndTests.create(
                edge, "/v1/campaigns", ["adAccountId": account, "name": "C", "objective": "OUTCOME_SALES", "dailyBudget": "5000"],
                token: token)
            let adSet = try await EndToEndTests.create(
                edge, "/v1/ad-sets", ["campaignId": campaign, "name": "S", "targeting": ["countries": ["US"]]], token: token)
            let ad = try await edge.send(
                .POST, "/v1/ads", json: ["adSetId": adSet, "name": "From creative", "creativeId": creativeID], token: token)
            try #require(ad.status == 200, "\(ad.text)")
            let adID = JSONValues.string(ad.json["id"])
            let expected = "https://shop.example.com/p?ref=1&utm_source=meta&utm_campaign=\(campaign)&utm_content=\(adID)"
            #expect(JSONValues.string(ad.json["finalUrl"]) == expected, "\(ad.text)")
            #expect(
                JSONValues.string(ad.json["linkUrl"]) == "https://shop.example.com/p?ref=1"
                    && JSONValues.string(ad.json["creativeId"]) == creativeID)
            let database = try #require(system.databases["campaign"]?.admin)
            let external = JSONValues.string(ad.json["externalId"])
            let payload = try await TestDatabases.withClient(database) { client in
                var text = ""
                for try await value in try await client.query("SELECT payload::text FROM sandbox_objects WHERE external_id = \(external)")
                    .decode(String.self)
                {
                    text = value
                }
                return text
            }
            #expect(payload.contains("utm_content=\(adID)"), "the platform sends buyers to the final URL: \(payload)")
            // The creative was published to the ad's account on the platform, and the ad names it there.
            func platformObjects(_ sql: String) async throws -> [String] {
                try await TestDatabases.withClient(database) { client in
                    var found: [String] = []
                    for try await value in try await client.query(PostgresQuery(unsafeSQL: sql)).decode(String.self) { found.append(value) }
                    return found
                }
            }
            let sellerOf = "(SELECT seller_id FROM sandbox_objects WHERE external_id = '\(external)')"
            let published = try await platformObjects(
                "SELECT payload::text FROM sandbox_objects WHERE kind = 'creative' AND seller_id = \(sellerOf)")
            #expect(published.count == 1, "\(published)")
            let imageHash = AssetFixtures.hex(AssetFixtures.png(width: 1080, height: 1080, salt: "square"))
            #expect(published.first?.contains(imageHash) == true && published.first?.contains("Summer sale") == true, "\(published)")
            let creativeOnPlatform = try await platformObjects(
                "SELECT external_id FROM sandbox_objects WHERE kind = 'creative' AND seller_id = \(sellerOf)")
            #expect(payload.contains("\"creative_id\": \"\(creativeOnPlatform.first ?? "?")\""), "the ad names the creative: \(payload)")
            CampaignShapeTests.expectRefused(
                try await edge.send(.PATCH, "/v1/ads/\(adID)", json: ["linkUrl": "https://elsewhere.example.com/"], token: token), 400,
                field: "link_url", "the link of an ad from a creative")
            let plain = try await edge.send(
                .POST, "/v1/ads", json: ["adSetId": adSet, "name": "Plain", "linkUrl": "https://shop.example.com/x"], token: token)
            #expect(JSONValues.string(plain.json["finalUrl"]) == "https://shop.example.com/x", "\(plain.text)")

            // A copy of the campaign: its ads' final URLs name the copies' own ids.
            let copy = try await edge.send(.POST, "/v1/campaigns/\(campaign)/duplicate", json: [:], token: token)
            try #require(copy.status == 200, "\(copy.text)")
            let copyCampaign = JSONValues.string((copy.json["campaign"] as? [String: Any])?["id"])
            let copiedAds = ((copy.json["adSets"] as? [[String: Any]])?.first?["ads"] as? [[String: Any]]) ?? []
            let copied = try #require(copiedAds.first { JSONValues.string($0["creativeId"]) == creativeID }, "\(copy.text)")
            #expect(
                JSONValues.string(copied["finalUrl"])
                    == "https://shop.example.com/p?ref=1&utm_source=meta&utm_campaign=\(copyCampaign)&utm_content=\(JSONValues.string(copied["id"]))"
            )

            // The wizard: one ad per chosen creative; a dry run shows the final URL with its
            // macros (the ids come with creation), the run expands them.
            var wizard: [String: Any] = [
                "campaign": ["adAccountId": account, "name": "T", "objective": "OUTCOME_SALES", "dailyBudget": "5000"],
                "adSets": [
                    [
                        "adSet": ["name": "S", "targeting": ["countries": ["US"]]],
                        "ads": [
                            ["name": "Single", "creativeId": creativeID],
                            ["name": "Carousel", "creativeId": JSONValues.string(carousel.json["id"])],
                        ],
                    ]
                ],
            ]
            wizard["dryRun"] = true
            let dry = try await edge.send(.POST, "/v1/campaign-trees", json: wizard, token: token)
            let dryAds = ((dry.json["adSets"] as? [[String: Any]])?.first?["ads"] as? [[String: Any]]) ?? []
            #expect(dry.status == 200 && dryAds.count == 2, "\(dry.text)")
            #expect(JSONValues.string(dryAds.first?["finalUrl"]) == "https://shop.example.com/p?ref=1&" + tags, "\(dry.text)")
            wizard["dryRun"] = false
            let made = try await edge.send(.POST, "/v1/campaign-trees", json: wizard, token: token)
            try #require(made.status == 200, "\(made.text)")
            let madeCampaign = JSONValues.string((made.json["campaign"] as? [String: Any])?["id"])
            let madeAds = ((made.json["adSets"] as? [[String: Any]])?.first?["ads"] as? [[String: Any]]) ?? []
            let first = try #require(madeAds.first)
            #expect(
                JSONValues.string(first["finalUrl"])
                    == "https://shop.example.com/p?ref=1&utm_source=meta&utm_campaign=\(madeCampaign)&utm_content=\(JSONValues.string(first["id"]))"
            )
            #expect(
                madeAds.map { JSONValues.string($0["linkUrl"]) } == [
                    "https://shop.example.com/p?ref=1", "https://shop.example.com/p?ref=1",
                ])
            wizard["adSets"] = [
                [
                    "adSet": ["name": "S", "targeting": ["countries": ["US"]]],
                    "ads": [["name": "X", "creativeId": UUID().uuidString.lowercased()]],
                ]
            ]
            let unknown = try await edge.send(.POST, "/v1/campaign-trees", json: wizard, token: token)
            #expect(unknown.status == 404 && unknown.text.contains("creative"), "\(unknown.text)")

            // Each creative was published once to the account, however many ads came from it.
            let creativesOnPlatform = try await platformObjects(
                "SELECT external_id FROM sandbox_objects WHERE kind = 'creative' AND seller_id = \(sellerOf)")
            #expect(creativesOnPlatform.count == 2, "the single image and the carousel: \(creativesOnPlatform)")

            // What is in use stays: the asset, the ad text, the creative of a live ad.
            let assetInUse = try await edge.send(.DELETE, "/v1/assets/\(image)", token: token)
            #expect(assetInUse.status == 422 && assetInUse.text.contains("creative"), "\(assetInUse.text)")
            let textInUse = try await edge.send(.DELETE, "/v1/ad-texts/\(textID)", token: token)
            #expect(textInUse.status == 422, "\(textInUse.text)")
            let creativeInUse = try await edge.send(.DELETE, "/v1/creatives/\(creativeID)", token: token)
            #expect(creativeInUse.status == 422 && creativeInUse.text.contains(adID), "\(creativeInUse.text)")
            // Once its ads are deleted the creative goes; the ads keep their final URL.
            for id in [adID] + copiedAds.map({ JSONValues.string($0["id"]) }) + madeAds.map({ JSONValues.string($0["id"]) }) {
                #expect(try await edge.send(.PATCH, "/v1/ads/\(id)", json: ["status": "DELETED"], token: token).status == 200)
            }
            #expect(try await edge.send(.DELETE, "/v1/creatives/\(creativeID)", token: token).status == 200)
            let kept = try await edge.send(.GET, "/v1/ads/\(adID)", token: token)
            #expect(JSONValues.string(kept.json["finalUrl"]) == expected && kept.json["creativeId"] == nil, "\(kept.text)")
            #expect(try await edge.send(.DELETE, "/v1/ad-texts/\(textID)", token: token).status == 200)
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try? await edge.shutdown()
        await system.stop()
    }
}
