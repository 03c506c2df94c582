using ApiPlatform.Gateway.Errors;
using ApiPlatform.Gateway.RateLimiting;
using ApiPlatform.Grains.ApiKeys;

namespace ApiPlatform.Gateway.Auth;

/// <summary>Puts a route group behind authentication and the API-key scope rule.</summary>
public static class RequireCallerExtensions
{
    /// <summary>
    /// Every endpoint of the group needs a credential, and is rate-limited by it. API keys need the <c>read</c> scope for GET and HEAD and the
    /// <c>write</c> scope for everything else; access tokens carry both.
    /// </summary>
    public static TBuilder RequireCaller<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
    {
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var limiter = http.RequestServices.GetRequiredService<RateLimiter>();
            var authenticator = http.RequestServices.GetRequiredService<CallerAuthenticator>();
            Caller caller;
            try
            {
                caller = await authenticator.AuthenticateAsync(http);
            }
            catch (ApiException e) when (e.Status == StatusCodes.Status401Unauthorized)
            {
                // Failed credentials spend the client address's budget, so guessing keys or tokens is throttled too.
                await limiter.ChargeAnonymousAsync(http);
                throw;
            }

            // A member acting for an organization spends the organization's budget (of its plan); naming one that does
            // not exist, or is not theirs, is paid for from the caller's own budget.
            try
            {
                caller = await authenticator.ActForOrganizationAsync(http, caller);
            }
            catch (ApiException e) when (e.Status == StatusCodes.Status404NotFound)
            {
                await limiter.ChargeAsync(http, caller);
                throw;
            }

            await limiter.ChargeAsync(http, caller);
            var needed = HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method)
                ? ApiKeyScopes.Read
                : ApiKeyScopes.Write;
            if (!caller.HasScope(needed))
            {
                throw ApiException.Forbidden($"This API key lacks the '{needed}' scope.");
            }

            http.Features.Set(caller);
            return await next(context);
        });
        builder.WithMetadata(new RequiresCallerMetadata());
        return builder;
    }
}

/// <summary>Organization role conventions for route groups.</summary>
public static class RequireOrganizationRoleExtensions
{
    /// <summary>
    /// When the caller acts for an organization, it needs at least <paramref name="role"/> there (403 otherwise). Put it
    /// after <see cref="RequireCallerExtensions.RequireCaller{TBuilder}"/>.
    /// </summary>
    public static TBuilder RequireOrganizationRole<TBuilder>(this TBuilder builder, string role) where TBuilder : IEndpointConventionBuilder
    {
        builder.AddEndpointFilter(async (context, next) =>
        {
            context.HttpContext.GetCaller().RequireOrgRole(role);
            return await next(context);
        });
        return builder;
    }
}

/// <summary>Marks endpoints that need a credential (read by the OpenAPI document).</summary>
public sealed class RequiresCallerMetadata;
