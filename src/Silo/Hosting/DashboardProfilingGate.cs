using System.Reflection;
using OpenTelemetry.Metrics;
using Orleans.Dashboard;

namespace ApiPlatform.Silo.Hosting;

/// <summary>
/// Keeps the Orleans Dashboard's profiling off the request path while nobody looks at the dashboard.
/// </summary>
/// <remarks>
/// <para>
/// The dashboard's own switch decides when someone is looking: its profiler records only while switched on, and the
/// dashboard grain switches it on in every silo of the cluster when an administrator's dashboard queries it (the page
/// polls its API every second), and off again once no query came for <see cref="GrainProfilerOptions.DeactivationTime"/>
/// (checked once a minute, so 1–2 minutes after the last dashboard tab closed). Two of the dashboard's parts ignore
/// that switch, and both are replaced here:
/// </para>
/// <list type="bullet">
/// <item>its incoming grain-call filter runs on every grain call (an async method that, with the profiler off, only
/// awaits the call): replaced by this gate, a synchronous check of the switch that hands the call straight on while it
/// is off and to the dashboard's filter while it is on, so the "calls" and "latency" figures are the dashboard's own;</item>
/// <item>its meter provider collects every Orleans instrument (observable gauges included) once a second for the
/// silo counters page: its periodic export is turned off, and <see cref="DashboardCounterPump"/> collects once a
/// second only while the switch is on.</item>
/// </list>
/// <para>
/// The switch and the export interval are the dashboard's internals (<c>IGrainProfiler.IsEnabled</c>,
/// <c>DashboardHost.ExportIntervalMilliseconds</c> and its meter provider; Microsoft.Orleans.Dashboard 10.4.2, pinned
/// in Directory.Packages.props), bound once at start-up: if a later version renames one, the silo fails to start here
/// rather than profiling silently stopping or costing every call again.
/// </para>
/// </remarks>
internal sealed class DashboardProfilingGate(IIncomingGrainCallFilter profilerFilter, Func<bool> profiling) : IIncomingGrainCallFilter
{
    private const string FilterType = "Orleans.Dashboard.Implementation.GrainProfilerFilter";
    private const string ProfilerType = "Orleans.Dashboard.Metrics.IGrainProfiler";
    private const string HostType = "Orleans.Dashboard.DashboardHost";

    public Task Invoke(IIncomingGrainCallContext context) => profiling() ? profilerFilter.Invoke(context) : context.Invoke();

    /// <summary>Rewires what <c>AddDashboard</c> registered: the filter behind the gate, the counters behind the pump.</summary>
    public static void Install(IServiceCollection services)
    {
        var filter = services.SingleOrDefault(d => d.ServiceType == typeof(IIncomingGrainCallFilter) && d.ImplementationType?.FullName == FilterType)
            ?? throw new InvalidOperationException($"The Orleans Dashboard's grain-call filter ({FilterType}) is not registered: call AddDashboard first.");
        var filterType = filter.ImplementationType!;
        var assembly = filterType.Assembly;
        var profilerType = assembly.GetType(ProfilerType, throwOnError: true)!;
        var isEnabled = Required(profilerType.GetProperty("IsEnabled")?.GetMethod, ProfilerType + ".IsEnabled");
        var hostType = assembly.GetType(HostType, throwOnError: true)!;
        var exportInterval = Required(hostType.GetProperty("ExportIntervalMilliseconds", BindingFlags.Instance | BindingFlags.NonPublic),
            HostType + ".ExportIntervalMilliseconds");
        var meterProvider = Required(hostType.GetField("_meterProvider", BindingFlags.Instance | BindingFlags.NonPublic), HostType + "._meterProvider");
        var host = services.SingleOrDefault(d => d.ServiceType == hostType && d.ImplementationType == hostType)
            ?? throw new InvalidOperationException($"{HostType} is not registered as expected.");

        services.Remove(filter);
        services.AddSingleton(filterType);
        services.AddSingleton(sp => new ProfilingSwitch(Bind(sp.GetRequiredService(profilerType), profilerType, isEnabled)));
        services.AddSingleton<IIncomingGrainCallFilter>(sp =>
            new DashboardProfilingGate((IIncomingGrainCallFilter)sp.GetRequiredService(filterType), sp.GetRequiredService<ProfilingSwitch>().IsOn));

        // The dashboard's meter provider, built without periodic export (its documented "explicit flushes only" mode).
        services.Remove(host);
        services.AddSingleton(hostType, sp =>
        {
            var instance = ActivatorUtilities.CreateInstance(sp, hostType);
            exportInterval.SetValue(instance, Timeout.Infinite);
            return instance;
        });
        services.AddHostedService(sp => new DashboardCounterPump(sp.GetRequiredService<ProfilingSwitch>().IsOn,
            () => meterProvider.GetValue(sp.GetRequiredService(hostType)) as MeterProvider));
    }

    /// <summary>The profiler's switch, bound to its instance once: a grain call then costs one delegate call while it is off.</summary>
    private static Func<bool> Bind(object profiler, Type profilerType, MethodInfo isEnabled)
    {
        var map = profiler.GetType().GetInterfaceMap(profilerType);
        return map.TargetMethods[Array.IndexOf(map.InterfaceMethods, isEnabled)].CreateDelegate<Func<bool>>(profiler);
    }

    private static T Required<T>(T? member, string name) where T : class =>
        member ?? throw new InvalidOperationException($"The Orleans Dashboard has no {name} (is its version still the one pinned?).");

    private sealed record ProfilingSwitch(Func<bool> IsOn);
}

/// <summary>
/// Feeds the dashboard's silo counters page once a second, and only while the dashboard is being looked at (see
/// <see cref="DashboardProfilingGate"/>): a collection walks every Orleans instrument, observable gauges included.
/// </summary>
internal sealed class DashboardCounterPump(Func<bool> profiling, Func<MeterProvider?> meterProvider) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            if (profiling() && meterProvider() is { } provider)
            {
                provider.ForceFlush((int)Interval.TotalMilliseconds);
            }
        }
    }
}
