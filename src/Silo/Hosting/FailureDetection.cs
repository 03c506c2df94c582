using Orleans.Configuration;

namespace ApiPlatform.Silo.Hosting;

/// <summary>
/// The failure-detection settings the product ships (configuration <c>Orleans:Membership:*</c> overrides each one),
/// and the response timeout of grain calls (<c>Orleans:ResponseTimeout</c>). Orleans' own defaults take 10–15 s to
/// declare a killed silo dead on a three-silo cluster, and every request that needs one of its grains is refused
/// for that long; these declare it dead in about three probe periods.
/// </summary>
/// <remarks>
/// How Orleans 10 decides (MembershipService/SiloHealthMonitor, ClusterHealthMonitor, MembershipTableManager):
/// each silo probes <see cref="ClusterMembershipOptions.NumProbedSilos"/> others, one probe per period; the period and
/// the probe's timeout adapt to the observed round trips between <c>ProbeTimeout / 2</c> and <c>ProbeTimeout × 4</c>,
/// and stretch further while the prober itself is degraded (thread-pool delays, GC pauses count as inconclusive).
/// After <c>NumMissedProbesLimit − 1</c> missed direct probes the next one goes through another silo; if that one
/// cannot reach the target either, both vote and two votes (<c>NumVotesForDeathDeclaration</c>) declare it dead in
/// the membership table at once. A vote is suppressed while the connection to the target carried any message within
/// <c>ProbeTimeout × 4 × NumMissedProbesLimit</c>: a busy silo that is slow to answer pings is not evicted.
/// <list type="bullet">
/// <item>ProbeTimeout 2 s: probes every ~1 s on a quiet network, so a killed silo (connection refused: each probe fails
/// at once) is declared dead ~3 s after its last answer; a silo that stops answering without closing its
/// connections (node loss) after ~3 timeouts of 1–8 s, whichever the observed round trips allow.</item>
/// <item>NumMissedProbesLimit 3: two direct misses and one indirect one, so a single slow answer never votes.</item>
/// <item>NumProbedSilos 3 (Orleans: 10): three watchers suffice to evict quickly (Orleans' own guidance) and keep the
/// probe traffic of a 10-silo deployment small.</item>
/// <item>TableRefreshTimeout 10 s (60 s): a silo that missed the gossip of a death reads it from the table within
/// 10 s, not a minute; one small query per silo per 10 s.</item>
/// <item>IAmAliveTablePublishTimeout 10 s (30 s): a silo frozen without being probed shows as stale (3 missed
/// heartbeats) after 30 s instead of 90 s.</item>
/// <item>DeathVoteExpirationTimeout 60 s (120 s): an old, isolated suspicion does not add up with a new one.</item>
/// </list>
/// The saturation test (tests/ClusterTests/FailureDetectionTests.cs) keeps three silos' CPU full and checks that no
/// silo is declared dead with these values.
/// </remarks>
public static class FailureDetection
{
    public const string MembershipSection = OrleansClusterOptions.Section + ":Membership";
    public const string ResponseTimeoutKey = OrleansClusterOptions.Section + ":ResponseTimeout";

    /// <summary>Orleans' own default; every grain call answers or fails within it.</summary>
    public static readonly TimeSpan DefaultResponseTimeout = TimeSpan.FromSeconds(30);

    public static void ApplyShippedDefaults(ClusterMembershipOptions o)
    {
        o.ProbeTimeout = TimeSpan.FromSeconds(2);
        o.NumMissedProbesLimit = 3;
        o.NumProbedSilos = 3;
        o.NumVotesForDeathDeclaration = 2;
        o.TableRefreshTimeout = TimeSpan.FromSeconds(10);
        o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(10);
        o.DeathVoteExpirationTimeout = TimeSpan.FromSeconds(60);
    }

    /// <summary>
    /// <c>Orleans:ResponseTimeout</c>, between 1 s and 5 min: how long a grain call waits for its answer before it
    /// fails with a <see cref="TimeoutException"/> (a 503 to the client). A call to a silo that died is failed sooner,
    /// as soon as membership declares it dead.
    /// </summary>
    public static TimeSpan ResponseTimeout(IConfiguration configuration)
    {
        var value = configuration.GetValue<TimeSpan?>(ResponseTimeoutKey) ?? DefaultResponseTimeout;
        return value >= TimeSpan.FromSeconds(1) && value <= TimeSpan.FromMinutes(5)
            ? value
            : throw new InvalidOperationException($"{ResponseTimeoutKey} must be between 00:00:01 and 00:05:00, not {value}.");
    }
}
