using System.Reflection;
using System.Runtime.CompilerServices;

namespace Emu.Migration.Precopy;

/// <summary>
/// Compiles every method of a list of types ahead of its first call (<see cref="RuntimeHelpers.PrepareMethod"/>), so
/// a path that runs once per migration, inside the setup time or the guest's pause, does not wait for the JIT there.
/// QEMU, compiled ahead of time, has no such cost. Used by <see cref="SetupWarmup"/> and <see cref="PostcopySwitchWarmup"/>.
/// </summary>
internal static class JitWarmup
{
    private const BindingFlags All = BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;

    /// <summary>
    /// Runs <paramref name="warm"/> on a below-normal background thread named <paramref name="threadName"/>, then a
    /// full collection: the warm-up's buffers (zstd's contexts, packet buffers) are large-object garbage, and left
    /// for later they brought on a blocking collection inside the next migration's setup (10–15 ms longer).
    /// </summary>
    public static void StartBackground(string threadName, Action warm)
    {
        var t = new Thread(() =>
        {
            warm();
            GC.Collect();
        })
        { Name = threadName, IsBackground = true, Priority = ThreadPriority.BelowNormal };
        t.Start();
    }

    /// <summary>
    /// Prepares the methods and constructors of <paramref name="types"/> and of their nested types (the compiler's
    /// classes for lambdas and closures, such as a VMState description's field accessors); returns how many.
    /// </summary>
    public static int Prepare(IEnumerable<Type> types)
    {
        int prepared = 0;
        foreach (Type type in types.SelectMany(WithNested))
        {
            foreach (MethodBase m in type.GetMethods(All).Cast<MethodBase>().Concat(type.GetConstructors(All)))
            {
                // Open generics cannot be compiled without their arguments; abstract and P/Invoke methods have no IL.
                if (m.IsAbstract || m.ContainsGenericParameters || (m.MethodImplementationFlags & MethodImplAttributes.InternalCall) != 0
                    || (m.Attributes & MethodAttributes.PinvokeImpl) != 0)
                {
                    continue;
                }

                RuntimeHelpers.PrepareMethod(m.MethodHandle);
                prepared++;
            }
        }

        return prepared;
    }

    private static IEnumerable<Type> WithNested(Type type) =>
        type.ContainsGenericParameters ? [] : type.GetNestedTypes(All).SelectMany(WithNested).Prepend(type);
}
