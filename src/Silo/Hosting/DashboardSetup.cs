using ApiPlatform.Gateway.Dashboard;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection.Extensions;
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
        PrepareAssetsAhead(silo.Services);
        return silo;
    }

    private const string AssetProviderType = "Orleans.Dashboard.EmbeddedAssetProvider, Orleans.Dashboard";

    /// <summary>
    /// The dashboard's asset provider gzips the whole single-page app it ships in its constructor, and
    /// <c>MapOrleansDashboard</c> resolves it on the main thread before the host starts, a large share of the start-up
    /// path (bench/README.md, item 5, "Start-up to ready"). Built on another thread from here on, it is
    /// ready, or nearly, when it is asked for. The type is internal to Orleans.Dashboard; if a later version renames it
    /// or gives it constructor arguments, the library's own registration stays and only the head start is lost.
    /// </summary>
    private static void PrepareAssetsAhead(IServiceCollection services)
    {
        var type = Type.GetType(AssetProviderType, throwOnError: false);
        var constructor = type?.GetConstructor(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic, Type.EmptyTypes);
        if (type is null || constructor is null || !services.Any(d => d.ServiceType == type))
        {
            return;
        }

        var prepared = Task.Run(() => constructor.Invoke(null));
        services.Replace(ServiceDescriptor.Singleton(type, _ => prepared.GetAwaiter().GetResult()));
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
