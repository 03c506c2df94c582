using System.Data.Common;

namespace ApiPlatform.Gateway.Failover;

/// <summary>Which exceptions mean "a part of the cluster (a silo, the database) is unreachable right now".</summary>
public static class ClusterFailures
{
    /// <summary>
    /// A silo could not be reached or died with the call (Orleans' rejections and <c>SiloUnavailableException</c> are
    /// <see cref="Orleans.Runtime.OrleansException"/>s), a call got no answer within the response timeout, or the
    /// database connection failed in a way worth retrying.
    /// </summary>
    public static bool IsUnavailable(Exception e) =>
        e is Orleans.Runtime.OrleansException or TimeoutException || e is DbException { IsTransient: true };

    /// <summary>
    /// A silo could not be reached: the failures that end once membership declares it dead and its grains
    /// reactivate elsewhere (not a response timeout, which can also mean a slow grain).
    /// </summary>
    public static bool IsSiloUnreachable(Exception e) =>
        e is Orleans.Runtime.OrleansMessageRejectionException or Orleans.Runtime.SiloUnavailableException;
}
