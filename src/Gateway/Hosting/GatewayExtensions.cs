using ApiPlatform.Grains;
using ApiPlatform.Gateway.Auth;
using ApiPlatform.Gateway.Endpoints;
using ApiPlatform.Gateway.Errors;
using ApiPlatform.Gateway.Identity;
using ApiPlatform.Gateway.Json;
using ApiPlatform.Gateway.Telemetry;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;

namespace ApiPlatform.Gateway.Hosting;

/// <summary>The HTTP surface as two calls: <see cref="AddGateway"/> for services, <see cref="UseGateway"/> for the pipeline.</summary>
public static class GatewayExtensions
{
    public static IHostApplicationBuilder AddGateway(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        var config = builder.Configuration;

        services.AddValidatedOptions<GatewayOptions, GatewayOptionsValidator>(config, GatewayOptions.Section);
        services.AddValidatedOptions<TrustedProxyOptions, TrustedProxyOptionsValidator>(config, TrustedProxyOptions.Section);
        services.AddSingleton<IConfigureOptions<ForwardedHeadersOptions>, TrustedProxyOptions.Configure>();
        services.AddValidatedOptions<JwtOptions, JwtOptionsValidator>(config, JwtOptions.Section);
        services.AddValidatedOptions<PlanOptions, PlanOptionsValidator>(config, PlanOptions.Section);
        services.AddValidatedOptions<RateLimiting.RateLimitOptions, RateLimiting.RateLimitOptionsValidator>(config, RateLimiting.RateLimitOptions.Section);
        // Two switches, nothing to check beyond binding: ValidateOnStart makes a value that does not bind fail at start.
        services.AddOptions<AuthOptions>().Bind(config.GetSection(AuthOptions.Section)).ValidateOnStart();
        services.AddValidatedOptions<Grains.Resources.ResourceOptions, Grains.Resources.ResourceOptionsValidator>(config, Grains.Resources.ResourceOptions.Section);
        services.AddValidatedOptions<PagingOptions, PagingOptionsValidator>(config, PagingOptions.Section);
        services.AddValidatedOptions<ApiOptions, ApiOptionsValidator>(config, ApiOptions.Section);
        services.AddValidatedOptions<BootstrapOptions, BootstrapOptionsValidator>(config, BootstrapOptions.Section);
        services.AddValidatedOptions<Failover.FailoverOptions, Failover.FailoverOptionsValidator>(config, Failover.FailoverOptions.Section);
        // A silo registers its membership view instead (before or after this: TryAdd keeps the silo's).
        services.TryAddSingleton<Failover.IClusterChangeSignal, Failover.FixedDelayClusterChangeSignal>();

        services.TryAddSingleton(ApiClock.System);
        services.AddSingleton<TokenService>();
        services.AddSingleton<GrainRefs>();
        services.TryAddSingleton<LocalHolders>();
        services.AddSingleton<ApiKeyCache>();
        services.AddSingleton<AccountCache>();
        services.AddSingleton<Usage.UsageService>();
        services.AddValidatedOptions<Mail.EmailOptions, Mail.EmailOptionsValidator>(config, Mail.EmailOptions.Section);
        services.AddSingleton<Mail.MailSender>();
        services.AddSingleton<Mail.MailQueue>();
        services.AddHostedService(sp => sp.GetRequiredService<Mail.MailQueue>());
        services.AddSingleton<AccountEmailService>();
        services.AddSingleton<Organizations.InvitationService>();
        services.AddSingleton<UnknownIds>();
        services.AddSingleton<CallerAuthenticator>();
        services.AddSingleton<IdentityService>();
        services.AddSingleton<Http.IdempotencyKeys>();
        services.AddSingleton<Http.CursorProtector>();
        services.AddSingleton<RateLimiting.RateLimiter>();
        services.AddValidatedOptions<Events.EventStreamOptions, Events.EventStreamOptionsValidator>(config, Events.EventStreamOptions.Section);
        services.AddSingleton<Events.EventStreamHub>();

        services.ConfigureHttpJsonOptions(o => ApiJson.Configure(o.SerializerOptions));
        services.AddSingleton<IConfigureOptions<KestrelServerOptions>, ConfigureKestrelLimits>();
        services.AddSingleton<IConfigureOptions<SocketTransportOptions>, ConfigureSockets>();
        services.AddHealthChecks();
        services.AddEndpointsApiExplorer();
        services.AddSwaggerGen(o =>
        {
            // Any JSON object: additionalProperties as an empty schema, so generated clients type it as a map of unknowns.
            o.MapType<RawJsonObject>(() => new OpenApiSchema { Type = JsonSchemaType.Object, AdditionalProperties = new OpenApiSchema() });
            o.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "API Platform",
                Version = "v1",
                Description = "Multi-tenant JSON resources, users, organizations, API keys and webhooks. Errors are RFC 9457 problem details.",
            });
            o.AddSecurityDefinition("bearer", new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "An access token from /v1/auth/login, or an API key (sk_…).",
            });
            o.AddSecurityDefinition("apiKey", new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Header,
                Name = CallerAuthenticator.ApiKeyHeader,
                Description = "An API key (sk_…).",
            });
            o.OperationFilter<SecurityRequirementFilter>();
            o.AddPlatformConventions();
            o.CustomSchemaIds(t => t.IsGenericType
                ? t.Name[..t.Name.IndexOf('`')] + "Of" + string.Concat(t.GetGenericArguments().Select(a => a.Name))
                : t.Name);
        });
        return builder;
    }

    public static WebApplication UseGateway(this WebApplication app)
    {
        // Outermost: with the status-message-data option it wraps every answer, the problem details' included.
        app.UseMiddleware<EnvelopeMiddleware>();
        // Next: everything after it (telemetry, the anonymous rate limit, HTTPS-only headers) sees the client as the
        // trusted proxy reported it.
        if (app.Services.GetRequiredService<IOptions<TrustedProxyOptions>>().Value.Enabled)
        {
            app.UseMiddleware<Rfc7239ForwardedMiddleware>();
            app.UseForwardedHeaders();
        }

        app.UseMiddleware<RequestTelemetryMiddleware>();
        app.UseMiddleware<SecurityHeadersMiddleware>();
        app.UseMiddleware<ProblemDetailsMiddleware>();
        // Inside the problem-details exit: a read that found a silo unreachable runs once more after membership moved on.
        app.UseMiddleware<Failover.ReadRetryMiddleware>();
        app.UseMiddleware<RequestLimitsMiddleware>();
        // Explicit, after the ones above: routing's own log lines then carry the request_id, and a routing failure
        // leaves through the problem-details exit like every other error.
        app.UseRouting();
        app.UseMiddleware<Http.AcceptNegotiationMiddleware>();
        app.UseMiddleware<BodyLimitMiddleware>();
        app.UseStatusCodePages(WriteStatusProblemAsync);
        if (app.Services.GetRequiredService<IOptions<GatewayOptions>>().Value.OpenApiExposedIn(app.Environment))
        {
            app.UseSwagger(o => o.PreSerializeFilters.Add(OpenApiConventions.NameServer));
            app.UseSwaggerUI(o => o.DocumentTitle = "API Platform");
        }

        app.MapHealthApi();
        app.MapAuthApi();
        app.MapUsersApi();
        app.MapApiKeysApi();
        app.MapResourcesApi();
        app.MapResourceTypesApi();
        app.MapOrganizationsApi();
        app.MapWebhooksApi();
        app.MapEventsApi();
        app.MapUsageApi();
        app.MapInvitationsApi();
        return app;
    }

    /// <summary>Bodiless framework answers (no route, wrong method) get problem details too.</summary>
    private static Task WriteStatusProblemAsync(StatusCodeContext status)
    {
        var context = status.HttpContext;
        return context.Response.StatusCode switch
        {
            StatusCodes.Status404NotFound => ProblemWriter.WriteAsync(context, 404, ProblemCodes.ResourceNotFound,
                $"No endpoint matches {context.Request.Method} {context.Request.Path}."),
            StatusCodes.Status405MethodNotAllowed => ProblemWriter.WriteAsync(context, 405, ProblemCodes.MethodNotAllowed,
                $"{context.Request.Method} is not allowed on {context.Request.Path}."),
            StatusCodes.Status415UnsupportedMediaType => ProblemWriter.WriteAsync(context, 415, ProblemCodes.UnsupportedMediaType,
                "Content-Type must be application/json."),
            var code and >= 400 and < 500 => ProblemWriter.WriteAsync(context, code, ProblemCodes.InvalidRequest, "The request could not be processed."),
            _ => Task.CompletedTask,
        };
    }

    private sealed class ConfigureSockets(IOptions<GatewayOptions> options) : IConfigureOptions<SocketTransportOptions>
    {
        public void Configure(SocketTransportOptions sockets) => sockets.UnsafePreferInlineScheduling = options.Value.InlineScheduling;
    }

    private sealed class ConfigureKestrelLimits(IOptions<GatewayOptions> options) : IConfigureOptions<KestrelServerOptions>
    {
        public void Configure(KestrelServerOptions kestrel)
        {
            kestrel.Limits.MaxRequestBodySize = options.Value.MaxRequestBodyBytes;
            kestrel.Limits.MaxRequestLineSize = options.Value.MaxRequestLineBytes * GatewayOptions.KestrelLimitFactor;
            kestrel.Limits.MaxRequestHeadersTotalSize = options.Value.MaxRequestHeadersBytes * GatewayOptions.KestrelLimitFactor;
            kestrel.Limits.MaxRequestHeaderCount = options.Value.MaxRequestHeaderCount * GatewayOptions.KestrelLimitFactor;
            // Naming the server software only helps whoever looks for a known weakness in it.
            kestrel.AddServerHeader = false;
        }
    }
}
