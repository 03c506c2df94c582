using ApiPlatform.Gateway.Errors;
using ApiPlatform.Gateway.RateLimiting;

namespace ApiPlatform.Gateway.Dashboard;

/// <summary>
/// The browser side of dashboard access: the sign-in page, and the session cookie it trades an administrator's
/// access token for. None of it is part of the public API document.
/// </summary>
public static class DashboardApi
{
    public const string LoginPath = "/dashboard/login";

    public static IEndpointRouteBuilder MapDashboardAccess(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/dashboard").ExcludeFromDescription();
        group.MapGet("/login", (HttpContext context) => LoginPage(context, StatusCodes.Status200OK));
        group.MapGet("/login.js", (HttpContext context) =>
        {
            context.Response.Headers.CacheControl = "no-cache";
            return Results.Text(DashboardLoginPage.Script, "text/javascript; charset=utf-8");
        });
        group.MapPost("/session", StartSessionAsync);
        group.MapDelete("/session", (HttpContext context) =>
        {
            DashboardAccess.EndSession(context);
            return Results.NoContent();
        });
        return routes;
    }

    /// <summary>
    /// Lets only administrators and the management token through (401/403 otherwise). A browser that opens the
    /// dashboard's page without a session gets the sign-in page with the 401.
    /// </summary>
    public static TBuilder RequireDashboardViewer<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
    {
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            http.Response.Headers.XFrameOptions = "DENY";
            try
            {
                await http.RequestServices.GetRequiredService<DashboardAccess>().AuthorizeAsync(http);
            }
            catch (ApiException e) when (e.Status == StatusCodes.Status401Unauthorized && IsPageNavigation(http.Request))
            {
                return LoginPage(http, StatusCodes.Status401Unauthorized);
            }

            return await next(context);
        });
        return builder;
    }

    private static async Task<IResult> StartSessionAsync(HttpContext context, DashboardAccess access, RateLimiter limiter)
    {
        context.Response.Headers.CacheControl = "no-store";
        try
        {
            await access.StartSessionAsync(context);
        }
        catch (ApiException e) when (e.Status == StatusCodes.Status401Unauthorized)
        {
            // Guessing the management token costs the client address's budget, like any failed credential.
            await limiter.ChargeAnonymousAsync(context);
            throw;
        }

        return Results.NoContent();
    }

    private static bool IsPageNavigation(HttpRequest request) =>
        HttpMethods.IsGet(request.Method)
        && request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase)
        && (request.Path.Equals("/dashboard") || request.Path.Equals("/dashboard/") || request.Path.Equals("/dashboard/index.html"));

    private static IResult LoginPage(HttpContext context, int status)
    {
        var headers = context.Response.Headers;
        headers.CacheControl = "no-store";
        headers.XFrameOptions = "DENY";
        headers.ContentSecurityPolicy = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'none'";
        return Results.Content(DashboardLoginPage.Html, "text/html; charset=utf-8", statusCode: status);
    }
}
