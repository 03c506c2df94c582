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

        services.AddOptions<GatewayOptions>().Bind(config.GetSection(GatewayOptions.Section)).ValidateDataAnnotations()
            .Validate(o => o.HstsMaxAge >= TimeSpan.Zero, "Gateway:HstsMaxAge must not be negative.")
            .ValidateOnStart();
        services.AddOptions<ForwardedHeadersSettings>().Bind(config.GetSection(ForwardedHeadersSettings.Section)).ValidateDataAnnotations()
            .Validate(o => o.Problem() is null, "ForwardedHeaders: KnownNetworks must be CIDR ranges and KnownProxies IP addresses.")
            .ValidateOnStart();
        services.AddSingleton<IConfigureOptions<ForwardedHeadersOptions>, ForwardedHeadersSettings.Configure>();
        services.AddOptions<JwtOptions>().Bind(config.GetSection(JwtOptions.Section)).ValidateDataAnnotations()
            .Validate(o => o.KeyBytes() is not null, "Jwt:SigningKey must be base64 of at least 32 random bytes.")
            .ValidateOnStart();
        services.AddOptions<PlanOptions>().Bind(config.GetSection(PlanOptions.Section))
            .Validate(o => o.Exists(o.DefaultPlan), "Plans:DefaultPlan must name a plan of Plans:Catalog.")
            .ValidateOnStart();
        services.AddOptions<RateLimiting.RateLimitOptions>().Bind(config.GetSection(RateLimiting.RateLimitOptions.Section))
            .Validate(o => o.Anonymous.Limit > 0 && o.Anonymous.WindowSeconds > 0 && o.Plans.Values.All(p => p.Limit >= 0 && p.WindowSeconds > 0),
                "RateLimits: Anonymous.Limit and every WindowSeconds must be positive; a plan's Limit may be 0 (unlimited).")
            .ValidateOnStart();
        services.AddOptions<AuthOptions>().Bind(config.GetSection(AuthOptions.Section));
        services.AddOptions<Grains.Resources.ResourceOptions>().Bind(config.GetSection(Grains.Resources.ResourceOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<Grains.Resources.ResourceOptions>, Grains.Resources.ResourceOptionsValidator>());
        services.AddOptions<PagingOptions>().Bind(config.GetSection(PagingOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PagingOptions>, PagingOptionsValidator>());
        services.AddOptions<ApiOptions>().Bind(config.GetSection(ApiOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ApiOptions>, ApiOptionsValidator>());
        services.AddOptions<BootstrapOptions>().Bind(config.GetSection(BootstrapOptions.Section));
        services.AddOptions<Failover.FailoverOptions>().Bind(config.GetSection(Failover.FailoverOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<Failover.FailoverOptions>, Failover.FailoverOptionsValidator>());
        // A silo registers its membership view instead (before or after this: TryAdd keeps the silo's).
        services.TryAddSingleton<Failover.IClusterChangeSignal, Failover.FixedDelayClusterChangeSignal>();

        services.TryAddSingleton(ApiClock.System);
        services.AddSingleton<TokenService>();
        services.AddSingleton<GrainRefs>();
        services.AddSingleton<ApiKeyCache>();
        services.AddSingleton<AccountCache>();
        services.AddSingleton<Usage.UsageService>();
        services.AddOptions<Mail.EmailOptions>().Bind(config.GetSection(Mail.EmailOptions.Section))
            .Validate(o => Mail.EmailOptions.Problem(o) is null, "Email settings are invalid: check Email:From, Email:LinkBaseUrl and Email:Smtp.")
            .ValidateOnStart();
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
        services.AddOptions<Events.EventStreamOptions>().Bind(config.GetSection(Events.EventStreamOptions.Section))
            .Validate(o => o.Heartbeat > TimeSpan.Zero && o.ConnectionBuffer >= 16 && o.RenewInterval > TimeSpan.Zero && o.RenewInterval <= TimeSpan.FromSeconds(60),
                "Events: Heartbeat must be positive, ConnectionBuffer at least 16, RenewInterval between zero and 60 s (listener leases last 90 s).")
            .ValidateOnStart();
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
        if (app.Services.GetRequiredService<IOptions<ForwardedHeadersSettings>>().Value.Enabled)
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
