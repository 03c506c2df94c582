using ApiPlatform.Gateway.Failover;

namespace ApiPlatform.Silo.Hosting;

/// <summary>
/// The silo's own membership view as the gateway's <see cref="IClusterChangeSignal"/>: its version moves when a silo
/// is declared dead (by this silo, by gossip from another, or by the periodic table read), which is also when this
/// silo stops routing to the dead one and takes over its share of the grain directory.
/// </summary>
internal sealed class MembershipChangeSignal(IServiceProvider services) : IClusterChangeSignal
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    // Resolved on first use: the membership service exists only once the silo is built.
    private IClusterMembershipService Membership => field ??= services.GetRequiredService<IClusterMembershipService>();

    public long Version => Membership.CurrentSnapshot.Version.Value;

    public async Task<bool> WaitForChangeAsync(long seen, TimeSpan timeout, CancellationToken cancellationToken)
    {
        // Polled rather than subscribed: this runs only on the failure path, for a few seconds at most.
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (Version <= seen)
        {
            if (DateTimeOffset.UtcNow >= deadline)
            {
                return false;
            }

            await Task.Delay(PollInterval, cancellationToken);
        }

        return true;
    }
}
