import GobayCore
