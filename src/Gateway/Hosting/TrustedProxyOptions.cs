using System.Net;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.Hosting;

/// <summary>
/// Which proxies may say who the client is (configuration section <c>ForwardedHeaders</c>). Only a request whose
/// socket peer is one of them has its <c>X-Forwarded-For</c> / <c>X-Forwarded-Proto</c> (or RFC 7239 <c>Forwarded</c>)
/// applied; from anyone else those headers are ignored, so a client cannot pick the address its anonymous rate limit
/// is charged to. With nothing configured no forwarded header is trusted at all (not even from loopback).
/// </summary>
public sealed class TrustedProxyOptions
{
    public const string Section = "ForwardedHeaders";

    /// <summary>CIDR ranges of trusted proxies, e.g. the ingress controllers' pod network <c>10.0.0.0/8</c>.</summary>
    public string[] KnownNetworks { get; set; } = [];

    /// <summary>Addresses of trusted proxies, e.g. <c>10.1.2.3</c>.</summary>
    public string[] KnownProxies { get; set; } = [];

    /// <summary>How many proxy hops are read from the right of <c>X-Forwarded-For</c>, each of which must be trusted.</summary>
    public int ForwardLimit { get; set; } = 1;

    public bool Enabled => KnownNetworks.Length > 0 || KnownProxies.Length > 0;

    /// <summary>Null when every entry parses; otherwise what is wrong (checked at start-up).</summary>
    public string? Problem()
    {
        var badNetwork = KnownNetworks.FirstOrDefault(n => !System.Net.IPNetwork.TryParse(n.Trim(), out _));
        if (badNetwork is not null)
        {
            return $"ForwardedHeaders:KnownNetworks entry '{badNetwork}' is not a CIDR range such as 10.0.0.0/8.";
        }

        var badProxy = KnownProxies.FirstOrDefault(p => !IPAddress.TryParse(p.Trim(), out _));
        return badProxy is null ? null : $"ForwardedHeaders:KnownProxies entry '{badProxy}' is not an IP address.";
    }

    internal sealed class Configure(IOptions<TrustedProxyOptions> settings) : IConfigureOptions<ForwardedHeadersOptions>
    {
        void IConfigureOptions<ForwardedHeadersOptions>.Configure(ForwardedHeadersOptions options)
        {
            var s = settings.Value;
            options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            options.ForwardLimit = s.ForwardLimit;
            // ASP.NET trusts loopback by default; here only what the operator named is trusted.
            options.KnownIPNetworks.Clear();
            options.KnownProxies.Clear();
            foreach (var network in s.KnownNetworks)
            {
                options.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network.Trim()));
            }

            foreach (var proxy in s.KnownProxies)
            {
                var address = IPAddress.Parse(proxy.Trim());
                options.KnownProxies.Add(address);
                // Dual-stack sockets report IPv4 peers as ::ffff:a.b.c.d.
                options.KnownProxies.Add(address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? address.MapToIPv6() : address);
            }

            options.RequireHeaderSymmetry = false;
        }
    }
}

/// <summary>Checks <see cref="TrustedProxyOptions"/> at start-up.</summary>
public sealed class TrustedProxyOptionsValidator : IValidateOptions<TrustedProxyOptions>
{
    public ValidateOptionsResult Validate(string? name, TrustedProxyOptions o) =>
        o.ForwardLimit is < 1 or > 10 ? ValidateOptionsResult.Fail("ForwardedHeaders:ForwardLimit must be from 1 to 10.")
        : o.Problem() is { } problem ? ValidateOptionsResult.Fail(problem)
        : ValidateOptionsResult.Success;
}
