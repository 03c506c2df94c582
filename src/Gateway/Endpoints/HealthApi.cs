using System.Text.Json;
using ApiPlatform.Gateway.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ApiPlatform.Gateway.Endpoints;

/// <summary>
/// <c>/health</c> answers while the process serves HTTP (it never calls grains or the database, so a slow
/// dependency cannot get a healthy process killed); <c>/health/ready</c> runs the checks tagged <see cref="ReadyTag"/>.
/// Neither needs a credential.
/// </summary>
public static class HealthApi
{
    public const string ReadyTag = "ready";

    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder routes)
    {
        routes.MapHealthChecks("/health", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync })
            .WithTags(ApiTags.Health);
        routes.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains(ReadyTag), ResponseWriter = WriteAsync })
            .WithTags(ApiTags.Health);
        return routes;
    }

    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        var body = new
        {
            Status = report.Status == HealthStatus.Healthy ? "ok" : "unavailable",
            Checks = report.Entries.ToDictionary(e => e.Key, e => new
            {
                Status = e.Value.Status == HealthStatus.Healthy ? "ok" : "unavailable",
                e.Value.Description,
            }),
        };
        return JsonSerializer.SerializeAsync(context.Response.Body, body, ApiJson.Options, context.RequestAborted);
    }
}
