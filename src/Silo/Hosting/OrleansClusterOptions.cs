using System.Net;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Silo.Hosting;

/// <summary>Orleans cluster identity and endpoints (configuration section <c>Orleans</c>).</summary>
public sealed class OrleansClusterOptions
{
    public const string Section = "Orleans";

    /// <summary>Silos with the same cluster id form one cluster.</summary>
    public string ClusterId { get; set; } = "api-platform";

    /// <summary>Stable across deployments: grain state and reminders are keyed by it.</summary>
    public string ServiceId { get; set; } = "api-platform";

    public int SiloPort { get; set; } = 11111;

    public int GatewayPort { get; set; } = 30000;

    /// <summary>The address other silos reach this one at (a pod's IP on Kubernetes). Defaults to loopback.</summary>
    public string? AdvertisedIPAddress { get; set; }

    /// <summary>Name of this silo in the membership table (a pod's name on Kubernetes).</summary>
    public string? SiloName { get; set; }

    /// <summary>
    /// <c>Silo</c> (default): an Orleans silo with the HTTP API co-hosted. <c>Gateway</c>: the same HTTP API as an
    /// Orleans client of a cluster, to scale the stateless HTTP tier apart from the silos.
    /// </summary>
    public string Role { get; set; } = SiloRole;

    public const string SiloRole = "Silo";
    public const string GatewayRole = "Gateway";

    public bool IsGatewayOnly => string.Equals(Role, GatewayRole, StringComparison.OrdinalIgnoreCase);
}

/// <summary>Checks <see cref="OrleansClusterOptions"/> at start-up.</summary>
public sealed class OrleansClusterOptionsValidator : IValidateOptions<OrleansClusterOptions>
{
    public ValidateOptionsResult Validate(string? name, OrleansClusterOptions o)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(o.ClusterId) || string.IsNullOrWhiteSpace(o.ServiceId))
        {
            errors.Add("Orleans:ClusterId and Orleans:ServiceId must not be empty.");
        }

        if (o.SiloPort is < 1 or > 65535 || o.GatewayPort is < 1 or > 65535)
        {
            errors.Add("Orleans:SiloPort and Orleans:GatewayPort must be 1-65535.");
        }

        if (o.AdvertisedIPAddress is { Length: > 0 } address && !IPAddress.TryParse(address, out _))
        {
            errors.Add($"Orleans:AdvertisedIPAddress '{address}' is not an IP address.");
        }

        if (!string.Equals(o.Role, OrleansClusterOptions.SiloRole, StringComparison.OrdinalIgnoreCase) && !o.IsGatewayOnly)
        {
            errors.Add($"Orleans:Role must be {OrleansClusterOptions.SiloRole} or {OrleansClusterOptions.GatewayRole}.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
