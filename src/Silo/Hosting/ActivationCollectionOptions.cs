using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace ApiPlatform.Silo.Hosting;

/// <summary>
/// When idle grain activations are collected (configuration section <c>Orleans:ActivationCollection</c>): Orleans'
/// <see cref="GrainCollectionOptions"/>, whose defaults (an activation idle for 15 minutes is collected, checked every
/// minute) stay in force for whatever is not set. A shorter <see cref="Age"/> keeps less memory for tenants that come
/// and go; their next request then pays the activation (bench/run-tenants.sh measures that cold path). Grains with
/// their own <c>[CollectionAgeLimit]</c> keep it.
/// </summary>
public sealed class ActivationCollectionOptions
{
    public const string Section = OrleansClusterOptions.Section + ":ActivationCollection";

    /// <summary>How long an activation may stay idle before it is collected (Orleans: 15 minutes).</summary>
    public TimeSpan? Age { get; set; }

    /// <summary>How often idle activations are looked for (Orleans: 1 minute); must be shorter than the age.</summary>
    public TimeSpan? Quantum { get; set; }

    public void ApplyTo(GrainCollectionOptions o)
    {
        o.CollectionAge = Age ?? o.CollectionAge;
        o.CollectionQuantum = Quantum ?? o.CollectionQuantum;
    }
}

/// <summary>Checks <see cref="ActivationCollectionOptions"/> at start-up.</summary>
public sealed class ActivationCollectionOptionsValidator : IValidateOptions<ActivationCollectionOptions>
{
    public ValidateOptionsResult Validate(string? name, ActivationCollectionOptions o)
    {
        var effective = new GrainCollectionOptions();
        o.ApplyTo(effective);
        return effective.CollectionQuantum >= TimeSpan.FromSeconds(1) && effective.CollectionAge > effective.CollectionQuantum
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(
                $"{ActivationCollectionOptions.Section}: Quantum must be at least 1 s and Age longer than Quantum (now Age {effective.CollectionAge}, Quantum {effective.CollectionQuantum}).");
    }
}
