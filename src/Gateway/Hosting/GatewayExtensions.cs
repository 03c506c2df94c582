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

        services.AddOptions<GatewayOptions>().Bind(config.GetSection(GatewayOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
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
        services.AddOptions<BootstrapOptions>().Bind(config.GetSection(BootstrapOptions.Section));

        services.TryAddSingleton(ApiClock.System);
        services.AddSingleton<TokenService>();
        services.AddSingleton<GrainRefs>();
        services.AddSingleton<ApiKeyCache>();
        services.AddSingleton<CallerAuthenticator>();
        services.AddSingleton<IdentityService>();
        services.AddSingleton<Http.IdempotencyKeys>();
        services.AddSingleton<RateLimiting.RateLimiter>();

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
        app.UseMiddleware<RequestTelemetryMiddleware>();
        app.UseMiddleware<ProblemDetailsMiddleware>();
        // Explicit, after the two above: routing's own log lines then carry the request_id, and a routing failure
        // leaves through the problem-details exit like every other error.
        app.UseRouting();
        app.Use((context, next) =>
        {
            context.Response.Headers.XContentTypeOptions = "nosniff";
            return next(context);
        });
        app.UseMiddleware<BodyLimitMiddleware>();
        app.UseStatusCodePages(WriteStatusProblemAsync);
        app.UseSwagger(o => o.PreSerializeFilters.Add(OpenApiConventions.NameServer));
        app.UseSwaggerUI(o => o.DocumentTitle = "API Platform");

        app.MapHealthApi();
        app.MapAuthApi();
        app.MapUsersApi();
        app.MapApiKeysApi();
        app.MapResourcesApi();
        app.MapOrganizationsApi();
        app.MapWebhooksApi();
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
        public void Configure(KestrelServerOptions kestrel) => kestrel.Limits.MaxRequestBodySize = options.Value.MaxRequestBodyBytes;
    }
}
