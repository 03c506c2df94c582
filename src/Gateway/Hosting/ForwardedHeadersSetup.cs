using System.ComponentModel.DataAnnotations;
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
public sealed class ForwardedHeadersSettings
{
    public const string Section = "ForwardedHeaders";

    /// <summary>CIDR ranges of trusted proxies, e.g. the ingress controllers' pod network <c>10.0.0.0/8</c>.</summary>
    public string[] KnownNetworks { get; set; } = [];

    /// <summary>Addresses of trusted proxies, e.g. <c>10.1.2.3</c>.</summary>
    public string[] KnownProxies { get; set; } = [];

    /// <summary>How many proxy hops are read from the right of <c>X-Forwarded-For</c>, each of which must be trusted.</summary>
    [Range(1, 10)]
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

    internal sealed class Configure(IOptions<ForwardedHeadersSettings> settings) : IConfigureOptions<ForwardedHeadersOptions>
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

/// <summary>
/// Reads RFC 7239 <c>Forwarded</c> (<c>for=</c>, <c>proto=</c>) as <c>X-Forwarded-For</c> / <c>X-Forwarded-Proto</c> when
/// a request carries only the former, so proxies that speak either are understood. Whether the values are believed
/// is still decided by <see cref="ForwardedHeadersMiddleware"/>: only from a trusted peer.
/// </summary>
public sealed class Rfc7239ForwardedMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        var headers = context.Request.Headers;
        if (headers.ContainsKey("Forwarded") && !headers.ContainsKey(ForwardedHeadersDefaults.XForwardedForHeaderName))
        {
            var fors = new List<string>();
            var protos = new List<string>();
            foreach (var element in string.Join(",", headers["Forwarded"].ToArray()).Split(','))
            {
                foreach (var pair in element.Split(';'))
                {
                    var eq = pair.IndexOf('=', StringComparison.Ordinal);
                    if (eq <= 0)
                    {
                        continue;
                    }

                    var name = pair[..eq].Trim();
                    var value = pair[(eq + 1)..].Trim().Trim('"');
                    if (name.Equals("for", StringComparison.OrdinalIgnoreCase))
                    {
                        fors.Add(NodeAddress(value));
                    }
                    else if (name.Equals("proto", StringComparison.OrdinalIgnoreCase))
                    {
                        protos.Add(value);
                    }
                }
            }

            if (fors.Count > 0)
            {
                headers[ForwardedHeadersDefaults.XForwardedForHeaderName] = string.Join(", ", fors);
            }

            if (protos.Count > 0)
            {
                headers[ForwardedHeadersDefaults.XForwardedProtoHeaderName] = string.Join(", ", protos);
            }
        }

        return next(context);
    }

    // RFC 7239 nodes: 192.0.2.43, 192.0.2.43:47011, [2001:db8::1], [2001:db8::1]:4711, unknown, _obfuscated.
    private static string NodeAddress(string node)
    {
        if (node.StartsWith('['))
        {
            var close = node.IndexOf(']', StringComparison.Ordinal);
            return close > 0 ? node[1..close] : node;
        }

        var colon = node.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && node.IndexOf(':', colon + 1) < 0 ? node[..colon] : node;
    }
}
