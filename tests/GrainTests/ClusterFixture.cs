using ApiPlatform.Grains;
using ApiPlatform.Grains.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;

// One two-silo cluster for the whole assembly: starting it is the slow part. The tests share its fake product clock,
// and some of them move it, so they run one at a time; each uses fresh random grain keys.
[assembly: AssemblyFixture(typeof(ApiPlatform.GrainTests.ClusterFixture))]
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace ApiPlatform.GrainTests;

/// <summary>
/// An in-process, two-silo Orleans cluster with in-memory grain storage. Product time (<see cref="ApiClock"/>) runs on
/// <see cref="Time"/>, a <see cref="FakeTimeProvider"/>, so tests move it without sleeping; Orleans keeps real time.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    /// <summary>The lockout rules the silos run with: small numbers keep the throttle tests short.</summary>
    public static readonly LoginThrottleOptions Throttle = new()
    {
        MaxFailures = 3,
        Window = TimeSpan.FromMinutes(10),
        LockoutDuration = TimeSpan.FromMinutes(5),
    };

    private InProcessTestCluster? _cluster;

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2030, 1, 15, 10, 0, 0, TimeSpan.Zero));

    public InProcessTestCluster Cluster => _cluster ?? throw new InvalidOperationException("The cluster is not deployed.");

    public IGrainFactory Grains => Cluster.Client;

    public async ValueTask InitializeAsync()
    {
        var clock = new ApiClock(Time);
        var builder = new InProcessTestClusterBuilder(2);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorage(GrainStorage.Main);
            silo.Services.AddSingleton(clock);
            silo.Services.AddOptions<LoginThrottleOptions>().Configure(o =>
            {
                o.MaxFailures = Throttle.MaxFailures;
                o.Window = Throttle.Window;
                o.LockoutDuration = Throttle.LockoutDuration;
            });
        });
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    /// <summary>Deactivates the grain's activation, so its next call reloads it from storage.</summary>
    public Task DeactivateAsync(IAddressable grain) => Cluster.DeactivateAsync(grain);
}
