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
        // Not part of the public API's OpenAPI document; every endpoint (page, assets, JSON) behind the same check.
        app.MapOrleansDashboard("/dashboard").ExcludeFromDescription().RequireDashboardViewer();
        return app;
    }
}
