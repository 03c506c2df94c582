using ApiPlatform.Gateway.Auth;
using ApiPlatform.Gateway.Json;
using ApiPlatform.Gateway.Usage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ApiPlatform.Gateway.Endpoints;

/// <summary><c>/v1/usage</c>: what the acting owner uses of its plan.</summary>
public static class UsageApi
{
    public static IEndpointRouteBuilder MapUsageApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGroup("/v1/usage").WithTags(ApiTags.Usage).RequireCaller()
            .MapGet("/", GetAsync)
            .Describe("getUsage", "Get your plan usage",
                "What the acting owner (the user, the organization named by X-Organization-Id, or the API key's owner) uses of "
                + "its plan: used and limit of resources, API keys, webhooks and (users only; null for an organization) owned "
                + "organizations, read from the counters that enforce the caps, so exact; and rate_limit, the credential's current "
                + "window after this request (reset in Unix seconds; null for an unlimited plan). Never cached.")
            .Produces<DataEnvelope<UsageReport>>()
            .ProducesErrors(401, 403, 404);
        return routes;
    }

    /// <summary>The acting owner: the user, the organization named by <c>X-Organization-Id</c>, or the key's owner.</summary>
    private static async Task<Ok<DataEnvelope<UsageReport>>> GetAsync(HttpContext context, UsageService usage)
    {
        context.Response.Headers.CacheControl = "no-store";
        return TypedResults.Ok(new DataEnvelope<UsageReport>(await usage.ReportAsync(context.GetCaller())));
    }
}
