using ApiPlatform.Gateway.Dashboard;
using Microsoft.Extensions.Options;
using Orleans.Dashboard;

namespace ApiPlatform.Silo.Hosting;

/// <summary>
/// The Orleans Dashboard at <c>/dashboard</c>, on silos only (a gateway-only process has no grains of its own to
/// profile), behind <see cref="DashboardAccess"/>: the dashboard has no authentication of its own.
/// </summary>
internal static class DashboardSetup
{
    public static AdminDashboardOptions Options(IConfiguration configuration) =>
        configuration.GetSection(AdminDashboardOptions.Section).Get<AdminDashboardOptions>() ?? new AdminDashboardOptions();

    /// <summary>
    /// The silo's part: its grain profiler and statistics grains. Its grain-call profiling and counter collection run
    /// only while a dashboard is being looked at (<see cref="DashboardProfilingGate"/>).
    /// </summary>
    public static ISiloBuilder AddPlatformDashboard(this ISiloBuilder silo, AdminDashboardOptions options)
    {
        silo.AddDashboard(o => o.HideTrace = options.HideTrace);
        DashboardProfilingGate.Install(silo.Services);
        return silo;
    }

    public static WebApplicationBuilder AddDashboardAccess(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<AdminDashboardOptions>().Bind(builder.Configuration.GetSection(AdminDashboardOptions.Section)).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<AdminDashboardOptions>, AdminDashboardOptionsValidator>();
        builder.Services.AddSingleton<DashboardAccess>();
        return builder;
    }

    public static WebApplication MapPlatformDashboard(this WebApplication app)
    {
        app.MapDashboardAccess();
        var dashboard = new DeferredDashboard(app);
        // Not part of the public API's OpenAPI document.
        app.MapGet(Prefix, dashboard.InvokeAsync).ExcludeFromDescription();
        app.MapGet(Prefix + "/{**path}", dashboard.InvokeAsync).ExcludeFromDescription();
        return app;
    }

    private const string Prefix = "/dashboard";

    /// <summary>
    /// The Orleans Dashboard's own endpoints, mapped on the first request under <c>/dashboard</c> rather than at
    /// start-up. Mapping them gzips the dashboard's whole single-page app (its asset provider does that in its
    /// constructor) and the first request through routing then builds a delegate for each of its two dozen
    /// endpoints: together most of what the dashboard added to the embedded start-up (bench/README.md, item 5).
    /// Nobody looks at a dashboard in the first second, so it is built when somebody first does.
    /// </summary>
    private sealed class DeferredDashboard(IApplicationBuilder app)
    {
        private readonly Lazy<RequestDelegate> _pipeline = new(() =>
        {
            var branch = app.New();
            branch.UseRouting();
            // Every endpoint (page, assets, JSON) behind the same check; none in the public API's document, which
            // lists every data source routing knows, the branch's included.
            branch.UseEndpoints(routes => routes.MapOrleansDashboard(Prefix).ExcludeFromDescription().RequireDashboardViewer());
            return branch.Build();
        });

        public Task InvokeAsync(HttpContext http)
        {
            // The branch routes the request again, among the dashboard's endpoints; routing skips a request that
            // already has one.
            http.SetEndpoint(null);
            http.Request.RouteValues.Clear();
            return _pipeline.Value(http);
        }
    }
}
